"""The web console (console/, served by nginx at /) in a real headless Chromium against a real
stack with the builtin provider: submit a task from the form and watch it complete, cancel a
running one, filter the list, open a timeline; the runners, the queue chart and the
configuration; with API keys on, the key is asked once and a read-only key sees no action
buttons; task text that is markup stays text; and no page breaks its Content-Security-Policy.

One browser for the module. Every page is photographed into the test's tmp directory; a test
that fails says where its photograph is and what the page said. With TR_CONSOLE_SCREENSHOT=FILE
the task page's photograph is written there too (docs/console.png in the README is one)."""

import contextlib
import os
import shutil

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ROOT, Stack, free_port, wait_until

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1100", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service("/usr/bin/chromedriver", port=free_port())
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """A stack with API keys on, and a key of each kind."""
    started = Stack(tmp_path_factory.mktemp("keyed"), {"service.require_api_key": True}).start()
    started.keys_by_scope = {scope: started.create_key("console", scope)
                             for scope in ("read", "read,submit", "admin")}
    yield started
    started.shut_down()


class Page:
    """The browser on one stack's console, with waits that leave evidence when they fail."""

    def __init__(self, driver, url, shots, name):
        self.driver, self.url, self.shots, self.name = driver, url, shots, name
        self.count = 0

    def open(self, hash_route="#/tasks", wait_ready=True):
        self.driver.get(f"{self.url}/{hash_route}")
        if wait_ready:
            self.wait(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true",
                      "the console to start")

    def go(self, hash_route):
        self.driver.execute_script("location.hash = arguments[0]", hash_route)

    def find(self, selector):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def snap(self, what):
        self.count += 1
        path = self.shots / f"{self.name}-{self.count:02d}-{what}.png"
        self.driver.save_screenshot(str(path))
        return path

    def evidence(self):
        path = self.snap("failure")
        try:
            text = self.find("body").text
        except Exception as error:  # the page itself may be what broke
            text = f"(no page text: {error})"
        return f"screenshot: {path}\npage at {self.driver.current_url}:\n{text[:3000]}"

    def wait(self, condition, what, timeout=20):
        try:
            # Pages redraw as tasks change: an element found a moment ago may be gone.
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05,
                                 ignored_exceptions=[StaleElementReferenceException]).until(condition)
        except TimeoutException:
            raise AssertionError(f"timed out waiting for {what}\n{self.evidence()}") from None

    def wait_for(self, selector, what=None, timeout=20):
        return self.wait(lambda d: d.find_element(By.CSS_SELECTOR, selector), what or selector, timeout)

    def text_of(self, selector):
        """The element's text as shown, read in one step (the page may redraw meanwhile)."""
        return self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", selector)

    def texts_of(self, selector):
        return self.driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText)", selector)

    def csp_violations(self):
        return [entry["message"] for entry in self.driver.get_log("browser")
                if "Content Security Policy" in entry["message"] or "Content-Security-Policy" in entry["message"]]

    def severe_errors(self, entries):
        return [e["message"] for e in entries if e["level"] == "SEVERE"]


@pytest.fixture
def page(browser, stack, tmp_path, request):
    """The console of the module's shared stack (authentication off: every scope)."""
    yield from pages(browser, stack, tmp_path, request)


def pages(browser, on_stack, tmp_path, request):
    browser.get(on_stack.url + "/health")  # leave whatever page the last test was on
    browser.execute_script("sessionStorage.clear()")
    browser.get_log("browser")  # drop what the last test logged
    made = Page(browser, on_stack.url, tmp_path, request.node.name[:40])
    yield made
    violations = made.csp_violations()
    assert violations == [], f"Content-Security-Policy violations:\n{violations}\n{made.evidence()}"


@contextlib.contextmanager
def evidence(page):
    """Any failure inside says where the screenshot is and what the page showed."""
    try:
        yield
    except AssertionError as error:
        if "screenshot:" in str(error):
            raise
        raise AssertionError(f"{error}\n{page.evidence()}") from error


def status_badge(page):
    return page.text_of("h1 .badge")


def test_the_console_is_served_with_its_policy_and_the_api_keeps_its_own(stack):
    index = stack.get("/")
    assert index.status_code == 200 and index.headers["Content-Type"].startswith("text/html")
    assert index.headers["Content-Security-Policy"] == CSP
    assert index.headers["X-Frame-Options"] == "DENY" and index.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in index.text.split('<script type="module" src="app.js"></script>', 1)[1]
    script = stack.get("/app.js")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert stack.get("/console.css").headers["Content-Type"].startswith("text/css")
    api = stack.get("/api/v1/tools")
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    missing = stack.get("/no-such-page.html")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    for path in ("/../task-runner.cfg", "/%2e%2e/task-runner.cfg", "/.git/config"):
        assert stack.get(path).status_code in (400, 404), path
    # The host check still comes first.
    refused = stack.get("/", headers={"Host": "attacker.example"})
    assert refused.status_code == 421


def test_the_console_loads_under_the_default_rate_limit_and_the_api_keeps_it(browser, make_stack, tmp_path,
                                                                             request):
    # The default limit (60 a minute, bursts of 10) against a page load of a dozen files and the
    # API requests that follow, loaded twice as an operator reloading would: when the files
    # counted against the same allowance as the API, one of them was refused with 429 and the
    # console never started.
    limited = make_stack({"service.rate_limiting.requests_per_minute": 60,
                          "service.rate_limiting.burst_size": 10})
    for page in pages(browser, limited, tmp_path, request):
        page.open("#/tasks")
        page.driver.refresh()
        page.wait(lambda d: page.find("body").get_attribute("data-ready") == "true", "the console after a reload")
        page.wait_for("#task-rows")
    # The API itself is still held to its limit.
    answers = [limited.get("/api/v1/tools").status_code for _ in range(15)]
    assert 429 in answers, answers


def test_a_console_whose_first_reads_are_rate_limited_waits_and_starts(browser, make_stack, tmp_path, request):
    # 30 a minute with bursts of 1, per address (keys are off): this test spends the allowance
    # just before the browser loads the console, so its first API reads are refused with 429
    # (Retry-After: 2). The console asks again after that; it stayed on "Loading…" before.
    limited = make_stack({"service.rate_limiting.requests_per_minute": 30,
                          "service.rate_limiting.burst_size": 1})
    for page in pages(browser, limited, tmp_path, request):
        spent = [limited.get("/api/v1/tools").status_code for _ in range(3)]
        assert spent[-1] == 429, spent
        page.open("#/tasks")
        page.wait_for("#task-rows")
        assert page.text_of("main h1") == "Tasks"


def test_the_policy_refuses_an_inline_script_and_the_log_shows_it(page):
    # The check every test ends with can fail: markup that did reach the page is stopped, and
    # the browser's log says so.
    page.open("#/tasks")
    page.driver.execute_script(
        "const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        "document.body.append(s);"
        "const d = document.createElement('div'); d.setAttribute('style', 'color: red');"
        "document.body.append(d);")
    assert page.driver.execute_script("return window.ran") is None
    violations = page.wait(lambda d: page.csp_violations() or None, "the violations to be logged")
    assert any("script-src" in v for v in violations), violations
    page.driver.get_log("browser")  # seen: the fixture's check is for the pages themselves


def test_the_console_builds_no_markup_from_data_and_loads_nothing_from_elsewhere():
    # What the policy enforces at run time, said of the files themselves: no HTML is parsed from
    # strings, no inline script or style or handler, nothing from another site.
    sources = {path.name: path.read_text() for path in (ROOT / "console").iterdir()}
    assert {"index.html", "app.js", "api.js", "dom.js", "console.css"} <= set(sources)
    for name, text in sources.items():
        for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                          "new Function", "localStorage", "http://", "https://", "//cdn"):
            assert forbidden not in text.replace("http://www.w3.org/2000/svg", ""), (name, forbidden)
    html = sources["index.html"]
    assert " style=" not in html and "<style" not in html
    for script in html.split("<script")[1:]:
        assert script.startswith(' type="module" src="') and script.split(">", 1)[1].startswith("</script>")
    assert not any(f" on{event}=" in html for event in ("load", "click", "error", "submit"))


def test_keyboard_and_a_narrow_screen(page, stack):
    page.open("#/tasks")
    with evidence(page):
        # Tab from the top reaches the navigation's links; Enter follows one.
        page.find("body").send_keys(Keys.TAB)
        for _ in range(12):
            active = page.driver.switch_to.active_element
            if active.get_attribute("href") and active.get_attribute("href").endswith("#/submit"):
                break
            active.send_keys(Keys.TAB)
        assert active.get_attribute("href").endswith("#/submit")
        assert active.value_of_css_property("outline-style") != "none"  # the focus is visible
        active.send_keys(Keys.ENTER)
        page.wait_for("#submit-form")
        # Every field has its label.
        for field in page.all("#submit-form textarea, #submit-form select, #submit-form input[type=text]"):
            assert page.all(f'label[for="{field.get_attribute("id")}"]'), field.get_attribute("id")
        # A phone's width: the page itself does not scroll sideways (wide tables scroll in place).
        page.driver.set_window_size(390, 844)
        try:
            for route in ("#/tasks", "#/overview", "#/submit"):
                page.go(route)
                page.wait_for("main h1")
                page.wait(lambda d: d.execute_script(
                    "return document.documentElement.scrollWidth <= window.innerWidth + 1"),
                    f"{route} to fit a narrow screen", timeout=5)
                page.snap("narrow-" + route.strip("#/"))
        finally:
            page.driver.set_window_size(1280, 1100)


def test_the_keyboard_keeps_its_place_when_the_list_refreshes(page, stack):
    # The list is drawn again every two seconds: the focused link must stay focused (it went
    # back to the top of the page at each refresh, so Tab could never get down the list).
    first = stack.submit("run the command: echo focus-first")
    stack.wait_for(first)
    page.open("#/tasks")
    with evidence(page):
        page.wait(lambda d: first in page.text_of("#task-rows"), "the task in the list")
        page.driver.execute_script("arguments[0].focus()", page.find(f'#task-rows a[href="#/task/{first}"]'))
        second = stack.submit("run the command: echo focus-second")
        page.wait(lambda d: second in page.text_of("#task-rows"), "the list to be drawn again")
        focused = page.driver.switch_to.active_element
        assert focused.get_attribute("href").endswith(f"#/task/{first}"), focused.get_attribute("outerHTML")
        focused.send_keys(Keys.ENTER)
        page.wait(lambda d: page.text_of("#task-text") == "run the command: echo focus-first", "its page")


def test_submit_a_task_from_the_form_and_watch_it_complete(page, stack):
    page.open("#/submit")
    with evidence(page):
        page.wait_for("#submit-form")
        page.snap("submit")
        page.find("#task-text-input").send_keys("run the command: echo made-in-the-console")
        Select(page.find("#task-priority")).select_by_value("high")
        page.find("#task-workdir").send_keys(str(stack.work))
        page.find("input[name=tools][value=run_command]").click()
        page.find("#submit-task").click()
        page.wait(lambda d: "#/task/" in d.current_url, "the task page")
        task_id = page.driver.current_url.split("#/task/")[1]
        page.wait(lambda d: status_badge(page) == "completed", "the task to complete (live)")
        task = stack.get(f"/api/v1/tasks/{task_id}").json()
        assert task["priority"] == "high" and task["status"] == "completed"
        assert page.text_of("#task-text") == "run the command: echo made-in-the-console"
        bars = page.all("svg.timeline rect.step-bar")
        assert len(bars) == len(task["steps"]) >= 1
        assert "made-in-the-console" in page.find("main").get_attribute("textContent")
        page.snap("task")
        if os.environ.get("TR_CONSOLE_SCREENSHOT"):  # the README's picture: the steps too
            page.driver.set_window_size(1100, 1500)
            for step in page.all("details.step")[1:2]:
                step.find_element(By.TAG_NAME, "summary").click()
            shutil.copy(page.snap("readme"), os.environ["TR_CONSOLE_SCREENSHOT"])
            page.driver.set_window_size(1280, 1100)

        # Re-run: a new task with the same request.
        page.find("#rerun-task").click()
        page.wait(lambda d: d.current_url.split("#/task/")[-1] not in ("", task_id), "the new task's page")
        again = page.driver.current_url.split("#/task/")[1]
        page.wait(lambda d: status_badge(page) == "completed", "the re-run to complete")
        rerun = stack.get(f"/api/v1/tasks/{again}").json()
        assert (rerun["task"], rerun["priority"]) == (task["task"], task["priority"])


def test_cancel_a_running_task(page, stack):
    task_id = stack.submit("run the command: sleep 31.5")
    wait_until(lambda: stack.get(f"/api/v1/tasks/{task_id}").json()["status"] == "running",
               timeout=20, message="the task to start")
    page.open(f"#/task/{task_id}")
    with evidence(page):
        page.wait(lambda d: status_badge(page) == "running", "the running task")
        page.snap("running")
        page.find("#cancel-task").click()
        page.wait(lambda d: status_badge(page) == "cancelled", "the task to be cancelled (live)")
        assert stack.get(f"/api/v1/tasks/{task_id}").json()["status"] == "cancelled"
        assert not page.find("#cancel-task").is_displayed()
        page.snap("cancelled")


def test_filter_the_list_and_the_failed_view(page, stack):
    high = stack.submit("run the command: echo filtered-high", priority="critical")
    low = stack.submit("run the command: echo filtered-low", priority="low")
    failed = stack.submit("run the command: exit 3")
    for task_id in (high, low, failed):
        stack.wait_for(task_id)
    page.open("#/tasks")
    with evidence(page):
        page.wait(lambda d: high in page.text_of("#task-rows") and low in page.text_of("#task-rows"), "both tasks")
        Select(page.find("#filter-priority")).select_by_value("critical")
        page.find("#filters button[type=submit]").click()
        page.wait(lambda d: "priority=critical" in d.current_url and high in page.text_of("#task-rows"),
                  "the filtered list")
        assert low not in page.text_of("#task-rows")
        assert set(page.texts_of("#task-rows tr td:nth-child(3)")) == {"critical"}
        page.snap("filtered")
        page.find('header nav a[href="#/tasks?status=failed"]').click()
        page.wait(lambda d: failed in page.text_of("#task-rows"), "the failed view")
        assert high not in page.text_of("#task-rows")
        page.snap("failed")


def test_the_since_filter_is_shown_and_kept_by_the_next_filter(page, stack):
    old = stack.submit("run the command: echo before-the-since")
    stack.wait_for(old)
    since = stack.get(f"/api/v1/tasks/{old}").json()["created_at"]
    newer = stack.submit("run the command: echo after-the-since", priority="high")
    stack.wait_for(newer)
    page.open(f"#/tasks?since={since[:19]}Z")  # whole seconds: what the field can show
    with evidence(page):
        page.wait(lambda d: newer in page.text_of("#task-rows"), "the list since then")
        assert page.find("#filter-since").get_attribute("value")  # shown (it was empty)
        Select(page.find("#filter-priority")).select_by_value("high")
        page.find("#filters button[type=submit]").click()
        page.wait(lambda d: "priority=high" in d.current_url, "the next filter")
        assert f"since={since[:19].replace(':', '%3A')}.000Z" in page.driver.current_url, page.driver.current_url


def test_keyset_pages_walk_back(page, stack):
    for i in range(27):
        stack.submit(f"run the command: echo page-{i}", priority="low", metadata={"page": i})
    page.open("#/tasks?priority=low")
    with evidence(page):
        page.wait_for("#next-page")
        first = page.text_of("#task-rows")
        page.find("#next-page").click()
        page.wait(lambda d: "cursor=" in d.current_url and "page-" in page.text_of("#task-rows")
                  and page.text_of("#task-rows") != first, "the older page")
        older = page.text_of("#task-rows").splitlines()
        assert len(older) >= 2 and not set(first.splitlines()) & set(older)


def test_runners_queue_chart_batches_and_configuration(page, stack):
    batch = stack.post("/api/v1/tasks/batch", {"tasks": [{"task": "run the command: echo b1"},
                                                         {"task": "run the command: echo b2"}]}).json()
    page.open("#/overview")
    with evidence(page):
        page.wait_for("svg.history")
        assert len(page.all("svg.history rect.throughput-bar")) == 60
        assert len(page.all("#runners tbody tr")) >= 1
        page.snap("overview")
        page.go(f"#/batch/{batch['batch_id']}")
        page.wait(lambda d: len(page.all("#batch-tasks li")) == 2, "the batch page")
        page.wait(lambda d: "completed" in page.text_of("h1"), "the batch to complete")
        page.snap("batch")
        page.go("#/batches")
        page.wait(lambda d: batch["batch_id"] in page.text_of("#batch-list"), "the batch in the list")
        page.go("#/config")
        page.wait(lambda d: "execution" in page.text_of("main") and "tools" in page.text_of("main"),
                  "the configuration")
        assert not page.all("#main input, #main textarea, #main button")  # read-only
        page.snap("config")


def test_task_text_that_is_markup_is_shown_as_text_and_runs_nothing(page, stack):
    hostile = ("run the command: echo '<img src=x onerror=\"window.pwned=1\">"
               "<script>window.pwned=2</script><b id=injected>bold</b>'")
    task_id = stack.submit(hostile, metadata={"note": "<svg onload=window.pwned=3>"})
    stack.wait_for(task_id)
    page.open(f"#/task/{task_id}")
    with evidence(page):
        page.wait(lambda d: status_badge(page) in ("completed", "failed"), "the task page")
        for step in page.all("details.step"):
            step.find_element(By.TAG_NAME, "summary").click()
        assert page.text_of("#task-text") == hostile
        assert not page.all("main img, main script, #injected, main svg[onload]")
        assert page.driver.execute_script("return window.pwned") is None
        page.go("#/tasks")
        page.wait(lambda d: "onerror" in page.text_of("#task-rows"), "the list")
        assert not page.all("#task-rows img, #task-rows b")
        assert page.driver.execute_script("return window.pwned") is None
        page.snap("hostile")


def test_an_address_that_names_no_task_is_not_found_and_the_console_goes_on(page, stack):
    # A link someone sends: "..%2Fsession" decodes to "../session", which nginx resolves
    # (/api/v1/tasks/../session is /api/v1/session): the task page showed the session as a task,
    # with Cancel and Re-run. A malformed escape left the page blank, and #/constructor (a name
    # every object has) broke every navigation after it.
    page.open("#/tasks")
    with evidence(page):
        for route in ("#/task/..%2Fsession", "#/task/..%2F..%2F..%2Fhealth", "#/batch/..%2Fstatus",
                      "#/task/%2E%2E", "#/task/%E0%A4%A", "#/constructor", "#/toString"):
            page.go("#/tasks")
            page.wait_for("#task-rows", f"the list before {route}")
            page.go(route)
            page.wait(lambda d: page.text_of("main h1") == "Not found", f"{route} to be not found")
            assert not page.all("#cancel-task, #rerun-task")
        page.go("#/overview")
        page.wait_for("svg.history", "the console to go on")


def test_cancel_every_queued_task_matching_a_filter(page, stack):
    # Four sleeps fill the runner's four places; the rest wait in the queue.
    blockers = [stack.submit(f"run the command: sleep 30.{i}") for i in range(4)]
    wait_until(lambda: all(stack.get(f"/api/v1/tasks/{t}").json()["status"] == "running" for t in blockers),
               timeout=20, message="the runner to be full")
    queued_low = [stack.submit("run the command: echo never", priority="low") for _ in range(3)]
    queued_high = stack.submit("run the command: echo later", priority="high")
    try:
        page.open("#/tasks?priority=low")
        with evidence(page):
            page.wait_for("#cancel-matching")
            page.find("#cancel-matching").click()
            page.driver.switch_to.alert.accept()
            page.wait(lambda d: page.text_of("#bulk-outcome") == "3 cancelled.", "the bulk cancel")
            for task_id in queued_low:
                assert stack.get(f"/api/v1/tasks/{task_id}").json()["status"] == "cancelled"
            assert stack.get(f"/api/v1/tasks/{queued_high}").json()["status"] == "queued"
            # A view of another status has no queued task to cancel: no button (on the Failed
            # view it cancelled every queued task).
            for status, route in (("failed", "#/tasks?status=failed"),
                                  ("completed", "#/tasks?status=completed&priority=high")):
                page.go(route)
                page.wait(lambda d: d.execute_script(
                    "const s = document.getElementById('filter-status'); return s && s.value") == status, route)
                assert not page.all("#cancel-matching"), route
            page.go("#/tasks?status=queued")
            page.wait_for("#cancel-matching")
    finally:
        for task_id in blockers:
            stack.session.delete(f"{stack.url}/api/v1/tasks/{task_id}", timeout=10)
    stack.wait_for(queued_high)


def test_a_refused_bulk_cancel_says_why(browser, make_stack, tmp_path, request):
    # 12 a minute with bursts of 1, per address (keys are off): the test spends the allowance
    # just before the click, so the POST is refused with 429, which the page must say (the
    # refusal was an unhandled rejection: nothing on the page changed).
    limited = make_stack({"service.rate_limiting.requests_per_minute": 12,
                          "service.rate_limiting.burst_size": 1})
    for page in pages(browser, limited, tmp_path, request):
        page.open("#/tasks")
        page.wait_for("#cancel-matching")
        spent = [limited.get("/api/v1/tools").status_code for _ in range(3)]
        assert spent[-1] == 429, spent
        page.find("#cancel-matching").click()
        page.driver.switch_to.alert.accept()
        page.wait(lambda d: "too many requests" in page.text_of("#bulk-outcome"), "the refusal to be said")


# -- with API keys ------------------------------------------------------------------------------


@pytest.fixture
def keyed_page(browser, keyed, tmp_path, request):
    request.node._stacks = [keyed]  # its log in the report of a failure
    yield from pages(browser, keyed, tmp_path, request)


def asked_for_a_key(page):
    return page.find("#key-dialog").get_attribute("open") is not None


def type_key(page, key):
    page.find("#key-input").send_keys(key)
    page.find("#key-form button[type=submit]").click()


def give_key(page, key):
    page.open("#/tasks", wait_ready=False)
    page.wait(lambda d: asked_for_a_key(page), "the key to be asked")
    type_key(page, key)
    page.wait(lambda d: page.find("body").get_attribute("data-ready") == "true", "the console to start")


def test_the_key_is_asked_once_and_kept_in_this_tab_only(keyed_page, keyed):
    page = keyed_page
    with evidence(page):
        page.open("#/tasks", wait_ready=False)
        page.wait(lambda d: asked_for_a_key(page), "the key to be asked")
        page.snap("key")
        type_key(page, "trk_made_up_key")
        # A wrong key is asked again, with the API's reason.
        page.wait(lambda d: asked_for_a_key(page) and "not valid" in page.text_of("#key-error"),
                  "the key to be asked again")
        type_key(page, keyed.keys_by_scope["read,submit"])
        page.wait(lambda d: page.find("body").get_attribute("data-ready") == "true", "the console to start")
        assert page.driver.execute_script("return Object.keys(sessionStorage)") == ["task-runner-api-key"]
        assert page.driver.execute_script("return localStorage.length") == 0
        assert page.driver.get_cookies() == []
        page.go("#/overview")  # another page: no second question
        page.wait_for("svg.history")
        assert not asked_for_a_key(page)
        page.driver.refresh()  # a reload keeps it (the same tab)
        page.wait(lambda d: page.find("body").get_attribute("data-ready") == "true", "the console after a reload")
        assert not asked_for_a_key(page)
        page.go("#/tasks")
        page.wait_for("#cancel-matching")


def test_escape_does_not_leave_the_console_without_a_way_to_give_the_key(keyed_page, keyed):
    page = keyed_page
    with evidence(page):
        page.open("#/tasks", wait_ready=False)
        page.wait(lambda d: asked_for_a_key(page), "the key to be asked")
        page.find("#key-input").send_keys(Keys.ESCAPE)  # closed the dialog; nothing asked again
        page.wait(lambda d: asked_for_a_key(page) and d.switch_to.active_element.get_attribute("id") == "key-input",
                  "the question to come back")
        type_key(page, keyed.keys_by_scope["read"])
        page.wait(lambda d: page.find("body").get_attribute("data-ready") == "true", "the console to start")


def test_a_read_only_key_sees_no_action_buttons(keyed_page, keyed):
    page = keyed_page
    owner_task = keyed.post("/api/v1/tasks", {"task": "run the command: sleep 30.7"},
                            headers={"Authorization": f"Bearer {keyed.keys_by_scope['read,submit']}"}).json()["task_id"]
    try:
        with evidence(page):
            give_key(page, keyed.keys_by_scope["read"])
            page.wait(lambda d: owner_task in page.text_of("#task-rows"), "the list")
            assert not page.all("#cancel-matching")
            assert not page.find('header nav a[href="#/submit"]').is_displayed()
            assert not page.find('header nav a[href="#/config"]').is_displayed()
            page.go(f"#/task/{owner_task}")
            page.wait_for("#task-text")
            assert not page.all("#cancel-task, #rerun-task")
            page.snap("read-only")
            page.go("#/submit")
            page.wait(lambda d: "cannot submit" in page.text_of("main"), "the refusal")
            assert not page.all("#submit-form")
    finally:
        keyed.session.delete(f"{keyed.url}/api/v1/tasks/{owner_task}",
                             headers={"Authorization": f"Bearer {keyed.keys_by_scope['admin']}"}, timeout=10)
