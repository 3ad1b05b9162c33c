-- One store for every setting changed through the API. The model settings that PUT
-- /api/v1/config/model kept in model_settings (one row, a column per setting) move into
-- config_overrides, by path, beside every other setting; the runner reads the live ones from
-- there for each task (core/config_store.cpp). A setting is one row of the settings table
-- (core/config.cpp), and a PUT one transaction. model.api_key's value stays the one place a key
-- set through the API is stored.
INSERT INTO config_overrides (path, value, updated_at)
SELECT path, value, updated_at FROM (
    SELECT 'model.provider' AS path, json_quote(provider) AS value, updated_at
    FROM model_settings WHERE provider IS NOT NULL
    UNION ALL
    SELECT 'model.model_name', json_quote(model_name), updated_at
    FROM model_settings WHERE model_name IS NOT NULL
    UNION ALL
    SELECT 'model.api_key', json_quote(api_key), updated_at
    FROM model_settings WHERE api_key IS NOT NULL
    UNION ALL
    SELECT 'model.endpoint', json_quote(endpoint), updated_at
    FROM model_settings WHERE endpoint IS NOT NULL
    UNION ALL
    SELECT 'model.max_tokens', json_quote(max_tokens), updated_at
    FROM model_settings WHERE max_tokens IS NOT NULL
    UNION ALL
    SELECT 'model.temperature', json_quote(temperature), updated_at
    FROM model_settings WHERE temperature IS NOT NULL
) WHERE true
ON CONFLICT (path) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;

DROP TABLE model_settings;
