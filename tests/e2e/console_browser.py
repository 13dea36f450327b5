"""Drives the console of a running `ingestion serve` in headless Chromium over WebDriver.

Usage: console_browser.py BASE_URL APP_ID API_KEY CSV_URL GOOD_ROWS BAD_OBJECT_ID SCREENSHOT_DIR

As a person would: a wrong key is refused; sign in; create an authentication, a source, a
destination and a task through the forms (a bad delimiter and a bad cron show the API's message
next to their field); run the task and watch the progress reach the end without a reload; find the
rejected row with its position; try a transformation (its output, then a syntax error with its
line); disable the task; sign out. Screenshots of every page at 1280 px and 390 px go to
SCREENSHOT_DIR. Exits non-zero, saying why, on the first failed expectation.
"""

import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE, APP, KEY, CSV_URL, GOOD_ROWS, BAD_ID, SHOTS = sys.argv[1:8]
GOOD_ROWS = int(GOOD_ROWS)
os.makedirs(SHOTS, exist_ok=True)

options = webdriver.ChromeOptions()
options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--hide-scrollbars", "--force-device-scale-factor=1"):
    options.add_argument(arg)
driver = webdriver.Chrome(
    service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
driver.set_window_size(1280, 900)
wait = WebDriverWait(driver, 30)
shot_names = []


def check(condition, message):
    if not condition:
        raise AssertionError(f"{message} (at {driver.current_url})")


def go(path):
    driver.get(BASE + path)


def el(css):
    return driver.find_element(By.CSS_SELECTOR, css)


def els(css):
    return driver.find_elements(By.CSS_SELECTOR, css)


def fill(css, text):
    field = el(css)
    field.clear()
    field.send_keys(text)


def choose(css, visible_text_part):
    select = Select(el(css))
    for option in select.options:
        if visible_text_part in option.text:
            select.select_by_visible_text(option.text)
            return
    raise AssertionError(f"no option containing {visible_text_part!r} in {css}")


def click(element):
    """Clicks something that loads a page, and waits for the new page."""
    old = el("html")
    element.click()

    def replaced(_):
        try:
            old.tag_name
            return False
        except WebDriverException:  # stale, or already detached from the new document
            return True

    wait.until(replaced)


def submit(css="form.stacked button[type=submit]:not([formaction])"):
    click(el(css))


def h1():
    return el("h1").text


def screenshot(name):
    """The whole page at 1280 px and at 390 px wide."""
    for width in (1280, 390):
        driver.set_window_size(width, 900)
        height = driver.execute_script(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
        driver.set_window_size(width, min(max(height, 600), 4000))
        driver.save_screenshot(os.path.join(SHOTS, f"{name}-{width}.png"))
    driver.set_window_size(1280, 900)
    shot_names.append(name)


# 1. Not signed in: the sign-in form; a wrong key is refused.
go("/console/tasks")
check("/console/sign-in" in driver.current_url, "an anonymous visit goes to the sign-in form")
screenshot("sign-in")
fill("#app-id", APP)
fill("#api-key", "not-the-key")
submit("form button[type=submit]")
check("wrong" in el("#sign-in-error").text, "a wrong key is refused with a sentence")

# 2. Sign in: back where we were going.
fill("#app-id", APP)
fill("#api-key", KEY)
submit("form button[type=submit]")
check(h1() == "Tasks", f"signed in, on the tasks page (got {h1()!r})")
check("No task yet" in el("main").text, "the empty state says what to do next")
screenshot("tasks-empty")
go("/console/")
check(h1() == "Overview", "the overview")

# 3. An authentication (its key is write-only).
go("/console/authentications/new")
screenshot("authentication-types")
go("/console/authentications/new?type=algolia")
fill("#f-name", "fake algolia")
fill("#f-input-appID", APP)
fill("#f-input-apiKey", KEY)
screenshot("authentication-form")
submit()
check(h1() == "fake algolia", "the authentication's page")
check("set (write-only" in el("main").text, "the key shows as set")
check(KEY not in driver.page_source, "the key never appears in a page")
screenshot("authentication-detail")

# 4. A CSV source: a bad delimiter shows the API's message next to its field; validate; create.
go("/console/sources/new?type=csv")
fill("#f-name", "products csv")
fill("#f-input-url", CSV_URL)
fill("#f-input-uniqueIDColumn", "id")
fill("#f-input-delimiter", ";;")
els("input[name='input.mapping.column']")[0].send_keys("price")
Select(els("select[name='input.mapping.type']")[0]).select_by_visible_text("float")
submit()
error = el("#f-input-delimiter-error").text
check("delimiter" in error, f"the delimiter's error is next to it: {error!r}")
check(el("#f-input-delimiter").get_attribute("aria-invalid") == "true", "the field is marked invalid")
screenshot("source-form-error")
fill("#f-input-delimiter", ",")
click(el("button[formaction='/console/sources/validate']"))
validation = el("#validation").text
check("sample records" in validation, f"validate shows the sample: {validation[:200]!r}")
screenshot("source-validate")
submit()
check(h1() == "products csv", "the source's page")
screenshot("source-detail")
source_url = driver.current_url.split("?")[0]
driver.get(source_url + "/edit")
screenshot("source-edit")
go("/console/sources")
screenshot("sources")

# 5. A destination with the authentication.
go("/console/destinations/new")
fill("#f-name", "products index")
fill("#f-input-indexName", "products")
choose("#f-authenticationID", "fake algolia")
screenshot("destination-form")
submit()
check(h1() == "products index", "the destination's page")
screenshot("destination-detail")
go("/console/destinations")
screenshot("destinations")
go("/console/authentications")
screenshot("authentications")

# 6. A task: a bad cron shows the API's message next to its field; then on demand.
go("/console/tasks/new")
choose("#f-sourceID", "products csv")
choose("#f-destinationID", "products index")
Select(el("#f-action")).select_by_visible_text("replace")
fill("#f-cron", "every tuesday-ish")
submit()
error = el("#f-cron-error").text
check("cron" in error, f"the cron's error is next to it: {error!r}")
screenshot("task-form-error")
fill("#f-cron", "")
fill("#f-failureThreshold", "1")
submit()
check("→" in h1(), f"the task's page ({h1()!r})")
task_url = driver.current_url.split("?")[0]
driver.get(task_url + "/edit")
check(h1() == "Edit task", "the task's edit form")
screenshot("task-edit")
driver.get(task_url)

# 7. Run now: the run's page follows the progress to the end without reloading.
click(driver.find_element(By.XPATH, "//button[normalize-space()='Run now']"))
check("/console/runs/" in driver.current_url, "run now opens the run")
run_url = driver.current_url
driver.execute_script("window.__notReloaded = true;")
seen_live = driver.execute_script(
    "return document.querySelector('[data-state]').getAttribute('data-state')")
WebDriverWait(driver, 60).until(
    lambda d: d.execute_script(
        "return document.querySelector('[data-state]').getAttribute('data-state')") == "done")
check(driver.execute_script("return window.__notReloaded === true"),
      "the progress reached the end without a reload")
pushed = el("#count-pushed").text.replace(",", "")
check(pushed == str(GOOD_ROWS), f"{GOOD_ROWS} records pushed (the page says {pushed})")
check(el("#count-rejected").text == "1", "one record rejected")
print(f"the run page was {seen_live!r} when opened, then done without a reload")

# 8. The rejected row, with its position; found by its objectID.
driver.get(run_url)
rejected = el("#rejections").text
check(BAD_ID in rejected and "row" in rejected.lower(), f"the rejected row and its position: {rejected!r}")
screenshot("run-detail")
# The README's picture: the top of the run's page, as a laptop shows it.
driver.set_window_size(1100, 1000)
driver.execute_script("window.scrollTo(0, 0)")
driver.save_screenshot(os.path.join(SHOTS, "readme-run-detail.png"))
driver.set_window_size(1280, 900)
fill("#rejected-q", BAD_ID)
click(el("#rejected-find"))
check(BAD_ID in el("#rejections").text, "the filter finds the rejected record")
fill("#rejected-q", "no-such-record")
click(el("#rejected-find"))
check("No rejected record matches" in el("main").text, "a filter that matches nothing says so")
go("/console/runs")
screenshot("runs")

# 9. A transformation: try it on a sample (output), then a syntax error (its line).
go("/console/transformations/new")
fill("#f-name", "add a label")
code = el("#f-code")
code.clear()
code.send_keys("async function transform(record) {\n  record.label = record.name + '!';\n  return record;\n}\n")
fill("#f-sample", '{"objectID": "1", "name": "shoe"}')
click(el("button[formaction='/console/transformations/try']"))
output = el("#try-result").text
check('"label": "shoe!"' in output, f"try shows the output record: {output!r}")
screenshot("transformation-try")
submit()
check("Created" in el("main").text, "the transformation is created")
code = el("#f-code")
code.clear()
code.send_keys("async function transform(record) {\n  return record.;\n}\n")
click(el("button[formaction='/console/transformations/try']"))
error = el("#f-code-error").text
check("line" in error.lower(), f"a syntax error names its line, under the code: {error!r}")
check("line" in el("#try-error").text.lower(), "and in the result")
screenshot("transformation-error")
go("/console/transformations")
screenshot("transformations")

# 10. The task's page (history chart), the tasks list, the overview; then disable the task.
driver.get(task_url)
check(len(els(".chart svg rect")) >= 1, "the history chart has a bar per run")
screenshot("task-detail")
go("/console/tasks")
screenshot("tasks")
click(driver.find_element(By.XPATH, "//button[normalize-space()='Disable']"))
check("disabled" in el("main").text, "the task is disabled")
go("/console/")
screenshot("overview")
go("/console/tasks/" + task_url.rsplit("/", 1)[1] + "/delete")
screenshot("task-delete-confirm")
go("/console/no-such-page")
check(h1() == "Not found", "an unknown page says so")
screenshot("not-found")

# 11. Keyboard: the first Tab reaches the skip link, which is visible when focused.
go("/console/")
driver.find_element(By.TAG_NAME, "body").send_keys("\t")
focused = driver.execute_script("return document.activeElement.textContent")
check("Skip to content" in focused, f"the first Tab stop is the skip link ({focused!r})")

# 12. Sign out: the session is gone.
click(driver.find_element(By.XPATH, "//button[normalize-space()='Sign out']"))
check("/console/sign-in" in driver.current_url, "signed out")
go("/console/tasks")
check("/console/sign-in" in driver.current_url, "after sign-out, pages ask to sign in again")

driver.quit()
print("console browser test passed; screenshots:", ", ".join(shot_names))
