-- The original's TaskMetrics shape. metrics.tools_used was the list of tool names and
-- metrics.tokens_used an object {input, output, total}; the original's clients read both as
-- numbers (tool calls made; tokens in + out). The list moves to tool_names and the object to
-- tokens, and the two names get their numbers, so a task stored before this reads the same as
-- one stored after (core/task_store.cpp serves the column as it is).
UPDATE tasks
SET metrics = json_set(metrics,
                       '$.tools_used', coalesce(json_extract(metrics, '$.steps_executed'),
                                                json_array_length(metrics, '$.tools_used')),
                       '$.tool_names', json(json_extract(metrics, '$.tools_used')))
WHERE json_type(metrics, '$.tools_used') = 'array';

UPDATE tasks
SET metrics = json_set(metrics,
                       '$.tokens_used', coalesce(json_extract(metrics, '$.tokens_used.input'), 0) +
                                        coalesce(json_extract(metrics, '$.tokens_used.output'), 0),
                       '$.tokens', json(json_extract(metrics, '$.tokens_used')))
WHERE json_type(metrics, '$.tokens_used') = 'object';

-- ai_agent_llm_tokens_total gets a provider label beside its direction, read from the new
-- place in the metrics. Made again whole: a trigger cannot be altered.
DROP TRIGGER metrics_task_finished;
CREATE TRIGGER metrics_task_finished AFTER UPDATE OF status ON tasks
WHEN old.status IS NOT new.status AND new.status IN ('completed', 'failed', 'cancelled', 'timeout')
BEGIN
    INSERT INTO metric_counters (name, labels, value)
    VALUES ('ai_agent_tasks_finished_total', 'status="' || new.status || '"', 1)
    ON CONFLICT (name, labels) DO UPDATE SET value = value + 1;
    INSERT INTO metric_counters (name, labels, value)
    SELECT 'ai_agent_llm_tokens_total',
           'direction="input",provider="' || coalesce(new.provider, 'unknown') || '"',
           json_extract(new.metrics, '$.tokens.input')
    WHERE json_extract(new.metrics, '$.tokens.input') > 0
    ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value;
    INSERT INTO metric_counters (name, labels, value)
    SELECT 'ai_agent_llm_tokens_total',
           'direction="output",provider="' || coalesce(new.provider, 'unknown') || '"',
           json_extract(new.metrics, '$.tokens.output')
    WHERE json_extract(new.metrics, '$.tokens.output') > 0
    ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value;
    -- The duration histogram: every bucket whose bound the duration does not exceed, then sum and count.
    UPDATE metric_counters SET value = value + 1
    WHERE name = 'ai_agent_task_duration_seconds_bucket' AND new.started_at IS NOT NULL
      AND (labels = 'le="+Inf"' OR CAST(substr(labels, 5, length(labels) - 5) AS REAL) >=
                                   (julianday(new.finished_at) - julianday(new.started_at)) * 86400);
    UPDATE metric_counters
    SET value = value + round((julianday(new.finished_at) - julianday(new.started_at)) * 86400, 3)
    WHERE name = 'ai_agent_task_duration_seconds_sum' AND new.started_at IS NOT NULL;
    UPDATE metric_counters SET value = value + 1
    WHERE name = 'ai_agent_task_duration_seconds_count' AND new.started_at IS NOT NULL;
END;

-- The counted tokens by provider: the old series (direction only) summed the ended tasks'
-- tokens, which the tasks still hold with their provider, so they are counted again from there.
DELETE FROM metric_counters WHERE name = 'ai_agent_llm_tokens_total';
INSERT INTO metric_counters (name, labels, value)
SELECT 'ai_agent_llm_tokens_total', 'direction="input",provider="' || coalesce(provider, 'unknown') || '"',
       sum(json_extract(metrics, '$.tokens.input'))
FROM tasks
WHERE status IN ('completed', 'failed', 'cancelled', 'timeout') AND json_extract(metrics, '$.tokens.input') > 0
GROUP BY coalesce(provider, 'unknown');
INSERT INTO metric_counters (name, labels, value)
SELECT 'ai_agent_llm_tokens_total', 'direction="output",provider="' || coalesce(provider, 'unknown') || '"',
       sum(json_extract(metrics, '$.tokens.output'))
FROM tasks
WHERE status IN ('completed', 'failed', 'cancelled', 'timeout') AND json_extract(metrics, '$.tokens.output') > 0
GROUP BY coalesce(provider, 'unknown');
