"""The paper's workflow in Debian's headless Chromium (selenium + chromedriver).

A provider registers, becomes a provider, registers the local backend and
publishes an offer; a buyer registers, bids, wins, starts the VM, watches
the price chart move when a rival bids, and stops the VM.  With
NESTCLOUD_SCREENSHOTS=1 it refreshes the screenshots of the main pages in
docs/screenshots/.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import urllib.request

import pytest

from conftest import TOP, free_port, virsh, wait_for
from test_market_helpers import IBAN, Market, MarketUser, backend_cloud

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service          # noqa: E402
from selenium.common.exceptions import (NoSuchElementException,  # noqa: E402
                                        StaleElementReferenceException)
from selenium.webdriver.common.by import By                   # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = os.path.join(TOP, "docs", "screenshots")

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMEDRIVER),
                                reason="chromium-driver is not installed")


@pytest.fixture(scope="module")
def backend():
    c = backend_cloud("mkt-web")
    yield c
    c.destroy()


@pytest.fixture(scope="module")
def market():
    m = Market("web", clearing=1, notice=5).start()
    yield m
    m.destroy()


class Isolated:
    """chromedriver and Chromium in a network namespace of their own, with
    only a loopback.  On a host that starts VMs, tap devices come and go
    every second, and Chromium drops requests in flight on every such change
    (net::ERR_NETWORK_CHANGED); in its own namespace it sees none.  Two
    socat pairs over Unix sockets carry the market's port in and the
    driver's port out."""

    def __init__(self, market_port):
        self.dir = tempfile.mkdtemp(prefix="nc-chrome-")
        self.procs = []
        inner = free_port()
        self.port = free_port()
        msock = os.path.join(self.dir, "market.sock")
        dsock = os.path.join(self.dir, "driver.sock")
        self._spawn(["socat", f"UNIX-LISTEN:{msock},fork,mode=600",
                     f"TCP:127.0.0.1:{market_port}"])
        script = (f"ip link set lo up && "
                  f"(socat TCP-LISTEN:{market_port},bind=127.0.0.1,fork,reuseaddr "
                  f"UNIX-CONNECT:{msock} &) && "
                  f"(socat UNIX-LISTEN:{dsock},fork,mode=600 TCP:127.0.0.1:{inner} &) && "
                  f"exec {CHROMEDRIVER} --port={inner}")
        self._spawn(["unshare", "--net", "sh", "-c", script])
        wait_for("the driver socket", lambda: os.path.exists(dsock), timeout=20, interval=0.1)
        self._spawn(["socat", f"TCP-LISTEN:{self.port},bind=127.0.0.1,fork,reuseaddr",
                     f"UNIX-CONNECT:{dsock}"])

        def up():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/status",
                                            timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_for("chromedriver", up, timeout=20, interval=0.2)

    def _spawn(self, argv):
        self.procs.append(subprocess.Popen(argv, start_new_session=True,
                                           stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))

    def close(self):
        for p in reversed(self.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)     # the group this test started
            except ProcessLookupError:
                pass
            p.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def browser(market):
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,1100", "--lang=en-GB"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    iso = None
    if shutil.which("unshare") and shutil.which("socat") and os.geteuid() == 0:
        iso = Isolated(market.port)
        d = webdriver.Remote(command_executor=f"http://127.0.0.1:{iso.port}", options=opts)
    else:
        d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.implicitly_wait(0)
    yield d
    d.quit()
    if iso:
        iso.close()


def shot(d, name):
    if os.environ.get("NESTCLOUD_SCREENSHOTS", "0") != "1":   # docs/screenshots: on request
        return
    os.makedirs(SHOTS, exist_ok=True)
    d.execute_script("window.scrollTo(0, 0)")
    d.save_screenshot(os.path.join(SHOTS, name + ".png"))


def wait(d, what, fn, timeout=60):
    try:
        # the pages re-render on every server-sent event: an element found a
        # moment ago may be gone, which is a reason to look again, not to fail
        return WebDriverWait(d, timeout, poll_frequency=0.2,
                             ignored_exceptions=(StaleElementReferenceException,
                                                 NoSuchElementException)).until(lambda _: fn())
    except Exception as e:
        raise AssertionError(f"timed out waiting for {what} on {d.current_url}; the page "
                             f"says:\n{page_text(d)}\nconsole: {d.get_log('browser')}") from e


def find(d, css):
    return wait(d, css, lambda: (e := d.find_elements(By.CSS_SELECTOR, css)) and e[0])


def text_of(d, css):
    """The text of @css, read again when the page re-rendered under us."""
    for _ in range(5):
        try:
            return find(d, css).text
        except StaleElementReferenceException:
            continue
    return ""


def attr_of(d, css, name):
    """Attribute @name of @css, read again when the page re-rendered under us."""
    for _ in range(5):
        try:
            return find(d, css).get_attribute(name)
        except StaleElementReferenceException:
            continue
    return None


def click(d, css):
    """Clicks @css, found again when the page re-rendered between finding it
    and the click (the pages re-render on every server-sent event)."""
    for _ in range(5):
        try:
            find(d, css).click()
            return
        except StaleElementReferenceException:
            continue
    raise AssertionError(f"{css} was re-rendered away five times in a row")


def fill(d, css, text):
    e = find(d, css)
    e.clear()
    e.send_keys(text)


def submit(d, css, what, done, timeout=60):
    """Clicks @css until @done() holds.  Chromium drops requests in flight
    when a network interface comes or goes (ERR_NETWORK_CHANGED), which the
    tap devices of other VMs on a shared host do at any time; the page then
    says "Failed to fetch", and a person would click again."""
    for _ in range(3):
        click(d, css)
        r = wait(d, what, lambda: done() or ("Failed to fetch" in page_text(d) and "retry"),
                 timeout=timeout)
        if r != "retry":
            return r
    raise AssertionError(f"{what}: the request failed in the network three times")


def page_text(d):
    return d.find_element(By.TAG_NAME, "body").text


def register(d, market, name, email):
    d.get(market.url + "/register")
    fill(d, "#name", name)
    fill(d, "#email", email)
    fill(d, "#password", "correct horse battery")
    submit(d, "#submit", "the header to show the user", lambda: d.find_elements(By.ID, "who")
           and d.find_element(By.ID, "who").text == name)


def test_paper_workflow(market, backend, browser):
    d = browser
    evil = "<img src=x onerror=alert(1)>"

    # ---- a provider: register, become provider, backend, offer ----
    register(d, market, "Paula " + evil, "paula@example.com")
    d.get(market.url + "/account")
    fill(d, "#company", "Paula's Cloud GmbH")
    fill(d, "#tax-number", "DE123456789")
    fill(d, "#iban", "DE89 3704 0044 0532 0130 01")          # one digit wrong
    fill(d, "#address", "Nöthnitzer Str. 46\n01187 Dresden")
    submit(d, "#provider-submit", "the IBAN to be refused", lambda: "IBAN" in find(
        d, "[role=alert]").text)
    fill(d, "#iban", IBAN)
    submit(d, "#provider-submit", "the provider role", lambda: "consumer, provider" in
           page_text(d))
    shot(d, "account")

    d.get(market.url + "/provider")
    fill(d, "#backend-name", "dresden-1")
    fill(d, "#backend-url", backend.url)
    fill(d, "#backend-token", backend.token)
    submit(d, "#backend-submit", "the backend to be listed",
           lambda: "dresden-1" in text_of(d, "#backend-list"))
    assert backend.token not in d.page_source
    wait(d, "the offer form", lambda: d.find_elements(By.ID, "offer-backend"))
    Select(find(d, "#offer-kind")).select_by_value("compute")
    fill(d, "#offer-name", "small vm " + evil)
    fill(d, "#offer-description", "One vCPU, 128 MiB, on a TCG host. <script>alert(2)</script>")
    fill(d, "#offer-vcpus", "1")
    fill(d, "#offer-memory", "128")
    fill(d, "#offer-slots", "1")
    fill(d, "#offer-reserve", "0.01")
    Select(find(d, "#offer-pricing")).select_by_value("spot")
    submit(d, "#offer-submit", "the offer to be listed",
           lambda: "small vm" in text_of(d, "#offer-list"))
    shot(d, "provider")
    # the user's text is shown as text, never run
    assert d.find_elements(By.CSS_SELECTOR, "img[src=x]") == []
    assert evil in page_text(d)
    offers = market.anon().get("/market/v1/offers?q=small")["offers"]
    assert len(offers) == 1
    offer = offers[0]
    click(d, "#logout")
    wait(d, "logged out", lambda: d.find_elements(By.ID, "nav-login"))

    # ---- a buyer: the catalogue, the service page, a bid ----
    register(d, market, "Bruno", "bruno@example.com")
    d.get(market.url + "/")
    wait(d, "the offer in the catalogue", lambda: "small vm" in page_text(d))
    assert d.find_elements(By.CSS_SELECTOR, "img[src=x]") == []
    shot(d, "catalogue")
    d.get(market.url + f"/offers/{offer['id']}")
    wait(d, "the price chart", lambda: d.find_elements(By.CSS_SELECTOR, "#chart svg[data-last]"))
    assert find(d, "#offer-name").text == offer["name"]
    assert "Paula's Cloud GmbH" in page_text(d)
    fill(d, "#max-price", "0.05")
    submit(d, "#bid-submit", "the contract to be active",
           lambda: "active" in text_of(d, "#mine"))
    assert float(attr_of(d, "#chart svg", "data-last")) == pytest.approx(0.01)

    # a rival bids below Bruno: Bruno keeps the slot, and the uniform price
    # rises to the highest losing bid, live on the page
    rival = MarketUser(market, "rita@example.com").register()
    rc = rival.bid(offer["id"], 0.02)
    wait(d, "the chart to move to 0.02",
         lambda: text_of(d, "#price-now") and float(attr_of(d, "#chart svg", "data-last"))
         == pytest.approx(0.02),
         timeout=30)
    wait(d, "the price shown to move", lambda: "0.0200" in text_of(d, "#price-now"))
    shot(d, "service-page")

    # ---- the VM: start, see it run, stop ----
    d.get(market.url + "/contracts")
    aid = attr_of(d, ".alloc[data-allocation]", "data-allocation")
    vm_name = text_of(d, ".alloc[data-allocation] code")

    def state():
        # the page re-renders on every event: read it afresh, a stale read is "unknown"
        try:
            return find(d, ".alloc[data-allocation] [data-role=alloc-state]").text
        except StaleElementReferenceException:
            return "unknown"
    # the page learns the change by an event, or by loading again once its
    # event stream is open; not by waiting for some later, unrelated event
    # (which took a minute before the page reloaded on opening the stream)
    wait(d, "the VM to be built", lambda: state() == "stopped", timeout=40)
    click(d, ".alloc[data-allocation] button.start")
    wait(d, "the VM to run", lambda: state() == "running", timeout=120)
    vm = next(v for v in backend.get("/v1/vms")["vms"] if v["name"] == vm_name)
    assert virsh("domstate", vm["id"]).strip() == "running"
    shot(d, "contracts")
    click(d, ".alloc[data-allocation] button.stop")
    wait(d, "the VM to stop", lambda: state() == "stopped", timeout=120)
    assert virsh("domstate", vm["id"]).strip() == "shut off"
    assert aid

    rival.call("POST", f"/market/v1/contracts/{rc['id']}/end")
