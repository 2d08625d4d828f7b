"""The public benchmark results page: bench/results.json read and shown, or not yet."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.benchmarks import benchmark_results

# Names dates: runs on the frozen clock (testkit.clock), whatever today is.
pytestmark = pytest.mark.usefixtures("clock")

SAMPLE = Path(__file__).parent / "bench_results_sample.json"
NOT_MEASURED = "Not measured yet"
TIMES = "\N{MULTIPLICATION SIGN}"


def sample() -> dict:
    return json.loads(SAMPLE.read_text())


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def results_at(settings, tmp_path):
    """Point the page at a results file holding `data` (or raw text)."""

    def point(data: object) -> Path:
        path = tmp_path / "results.json"
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        settings.BENCH_RESULTS_PATH = path
        return path

    return point


# --- The loader ---------------------------------------------------------------------


def test_the_sample_file_is_read_into_every_section():
    results = benchmark_results(SAMPLE)

    assert results is not None
    assert results.generated_at == datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert results.command == "make bench"
    assert results.machine is not None
    assert (results.machine.cores, results.machine.memory_gib) == (2, 24.0)
    assert results.versions[:2] == [("Python", "3.11.7"), ("Django", "5.2.19")]
    assert results.setup is not None
    assert (results.setup.web_server, results.setup.web_workers) == ("uvicorn", 2)
    assert [row.rate for row in results.ack_rows] == [50, 200, 500]
    assert results.ack_rows[0].tradeflow is not None
    assert results.ack_rows[0].tradeflow.p99_ms == 9.47
    assert results.ack_rows[0].floor is not None
    assert results.ack_rows[0].floor.p99_ms == 3.15
    assert results.max_rate is not None
    assert results.max_rate.tradeflow is not None
    assert results.max_rate.tradeflow.rate == 600
    assert [step.rate for step in results.max_rate.steps][-1] == 2700
    assert results.max_rate.steps[-1].tradeflow is None
    assert results.alert_to_fill is not None
    assert results.alert_to_fill.count == 200
    assert results.fanout is not None
    assert results.fanout.last_fill_max_ms == 533.0
    assert [s.server for s in results.servers] == [
        "uvicorn",
        "daphne",
        "gunicorn (sync)",
    ]


def test_the_projectx_figures_are_read_beside_papers():
    results = benchmark_results(SAMPLE)

    assert results is not None and results.projectx is not None
    venue = results.projectx
    assert [name for name, _ in venue.rows] == ["ProjectX (fake)", "Paper"]
    assert venue.projectx is not None and venue.projectx.p99_ms == 913.7
    assert (venue.fanout_accounts, venue.fanout_ratio) == (20, 5.9)
    assert venue.measured_at == datetime(2026, 11, 21, 13, 0, tzinfo=UTC)


def test_every_venue_is_read_in_the_pages_order_beside_paper():
    results = benchmark_results(SAMPLE)

    assert results is not None and results.venues is not None
    venues = results.venues
    assert [row.label for row in venues.rows] == [
        "Paper",
        "ProjectX (fake)",
        "Tradovate (fake)",
        "TradeLocker (fake)",
    ]
    tradelocker = venues.rows[-1]
    assert (tradelocker.sent, tradelocker.filled, tradelocker.failed) == (40, 39, 1)
    assert tradelocker.fill is not None and tradelocker.fill.p95_ms == 840.7
    assert tradelocker.exactly_once and tradelocker.placements_text == "1 each"
    assert (venues.alerts, venues.venue_latency_ms) == (40, 50)
    assert venues.measured_at == datetime(2026, 11, 21, 14, 0, tzinfo=UTC)


def test_an_order_placed_twice_or_lost_at_a_venue_is_told_apart(tmp_path):
    data = sample()
    counts = {"0": 1, "1": 38, "2": 1, "x": 5, "3": "many"}
    data["venues"]["alert_to_fill"]["tradovate"]["orders_per_client_id"] = counts
    data["venues"]["alert_to_fill"]["unheard-of"] = {"sent": 1}

    results = benchmark_results(write(tmp_path, data))

    assert results is not None and results.venues is not None
    tradovate = results.venues.rows[2]
    assert tradovate.placements == {0: 1, 1: 38, 2: 1}  # the odd keys left out
    assert not tradovate.exactly_once
    assert tradovate.placements_text == f"1 {TIMES} 0, 38 {TIMES} 1, 1 {TIMES} 2"
    assert len(results.venues.rows) == 4  # a venue the page does not know: out


def test_each_rate_gets_its_tradeflow_to_floor_ratios():
    results = benchmark_results(SAMPLE)

    assert results is not None
    row = results.ack_rows[1]
    assert row.p50_ratio == pytest.approx(5.02 / 1.74)
    assert row.p99_ratio == pytest.approx(18.94 / 4.73)
    assert results.max_rate is not None
    assert results.max_rate.ratio == pytest.approx(600 / 1800)


def test_the_files_own_headline_ratios_are_kept():
    results = benchmark_results(SAMPLE)

    assert results is not None
    assert results.ratios.ack_p50_at_50 == 2.6
    assert results.ratios.max_rate == 0.33


def test_headline_ratios_are_computed_when_the_file_has_none(tmp_path):
    data = sample()
    del data["ratios"]

    results = benchmark_results(write(tmp_path, data))

    assert results is not None
    assert results.ratios.ack_p50_at_50 == pytest.approx(4.21 / 1.62)
    assert results.ratios.ack_p99_at_50 == pytest.approx(9.47 / 3.15)
    assert results.ratios.ack_p99_at_200 == pytest.approx(18.94 / 4.73)
    assert results.ratios.max_rate == pytest.approx(600 / 1800)


def test_a_partial_ratios_block_is_completed_from_the_tables(tmp_path):
    data = sample()
    data["ratios"] = {"ack_p50_at_50": 2.5}

    results = benchmark_results(write(tmp_path, data))

    assert results is not None
    assert results.ratios.ack_p50_at_50 == 2.5
    assert results.ratios.ack_p99_at_200 == pytest.approx(18.94 / 4.73)


def test_no_file_means_no_results(tmp_path):
    assert benchmark_results(tmp_path / "absent.json") is None


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "\xff"])
def test_a_malformed_file_means_no_results_and_a_warning(tmp_path, caplog, text):
    path = tmp_path / "results.json"
    path.write_text(text, encoding="latin-1")

    with caplog.at_level(logging.WARNING, logger="dashboard.benchmarks"):
        assert benchmark_results(path) is None

    assert "benchmark results" in caplog.text


def test_missing_sections_are_empty_and_the_rest_still_reads(tmp_path):
    results = benchmark_results(write(tmp_path, {"generated_at": "2026-11-21"}))

    assert results is not None
    assert results.command == "make bench"
    assert results.machine is None
    assert results.setup is None
    assert results.versions == []
    assert results.ack_rows == []
    assert results.max_rate is None
    assert results.alert_to_fill is None
    assert results.fanout is None
    assert results.servers == []
    assert not results.ratios.measured
    # A date without a time zone is not a UTC time we can vouch for.
    assert results.generated_at is None


def test_values_of_the_wrong_type_are_left_out_not_fatal(tmp_path):
    data = sample()
    data["machine"]["cores"] = "two"
    data["ack_load"]["tradeflow"][0]["p50_ms"] = "fast"
    data["ack_load"]["tradeflow"].append({"p50_ms": 1.0})  # no rate: skipped
    data["ack_load"]["floor"] = "oops"
    data["fanout"]["runs"] = True
    data["server_comparison"][0]["websocket"] = "yes"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data).replace("533.0", "NaN"))

    results = benchmark_results(path)

    assert results is not None
    assert results.machine is not None
    assert results.machine.cores is None
    assert [row.rate for row in results.ack_rows] == [50, 200, 500]
    assert results.ack_rows[0].tradeflow is not None
    assert results.ack_rows[0].tradeflow.p50_ms is None
    assert results.ack_rows[0].floor is None
    assert results.ack_rows[0].p99_ratio is None
    assert results.fanout is not None
    assert results.fanout.runs is None
    assert results.fanout.last_fill_max_ms is None
    assert results.servers[0].websocket is None


# --- The page -----------------------------------------------------------------------


@pytest.mark.django_db
def test_anyone_can_read_the_published_figures(client, settings):
    settings.BENCH_RESULTS_PATH = SAMPLE

    response = client.get(reverse("benchmarks"))

    assert response.status_code == 200
    html = response.content.decode()
    for figure in ["9.5", "3.2", "533.0", "412.3"]:
        assert figure in html, figure
    for ratio in ["2.6", "3.0", "4.0", "0.33"]:
        assert ratio + TIMES in html, ratio
    assert "21 Nov 2026, 12:00 UTC" in html
    assert "AMD EPYC 7B13" in html
    assert "uvicorn, 2 workers" in html
    assert "make bench" in html
    assert "bench/RESULTS.md" in html
    assert "one INSERT and one Redis LPUSH" in html
    assert "gunicorn (sync)" in html
    assert "ProjectX (fake)" in html and "913.7" in html and "5.9" + TIMES in html
    assert "Every venue, side by side" in html
    assert "Tradovate (fake)" in html and "455.1" in html
    assert "TradeLocker (fake)" in html and "840.7" in html
    assert "1 each" in html
    assert NOT_MEASURED not in html
    assert "Log in" in html


def test_a_signed_in_trader_sees_it_in_the_normal_layout(world, settings):
    settings.BENCH_RESULTS_PATH = SAMPLE
    client = Client()
    client.force_login(world.owner)

    response = client.get(reverse("benchmarks"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Log out" in html
    assert world.owner.email in html
    assert "9.5" in html


def test_every_page_links_to_the_benchmarks(world):
    client = Client()
    client.force_login(world.owner)

    response = client.get(reverse("dashboard"))

    assert f'href="{reverse("benchmarks")}"' in response.content.decode()


@pytest.mark.django_db
def test_no_results_file_says_not_measured_yet(client, settings, tmp_path):
    settings.BENCH_RESULTS_PATH = tmp_path / "absent.json"

    response = client.get(reverse("benchmarks"))

    assert response.status_code == 200
    assert NOT_MEASURED in response.content.decode()
    assert "make bench" in response.content.decode()


@pytest.mark.django_db
def test_a_malformed_file_says_not_measured_yet_and_warns(client, results_at, caplog):
    results_at('{"generated_at": ')

    with caplog.at_level(logging.WARNING, logger="dashboard.benchmarks"):
        response = client.get(reverse("benchmarks"))

    assert response.status_code == 200
    assert NOT_MEASURED in response.content.decode()
    assert "unreadable" in caplog.text


@pytest.mark.django_db
def test_each_missing_section_says_not_measured_yet(client, results_at):
    data = sample()
    missing = ["max_rate", "alert_to_fill", "fanout", "ratios", "server_comparison"]
    for key in [*missing, "projectx", "venues"]:
        del data[key]
    del data["ack_load"]["floor"]
    results_at(data)

    response = client.get(reverse("benchmarks"))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count(NOT_MEASURED) == 3  # alert to fill, max rate, fan-out
    assert "9.5" in html
    assert "not measured</td>" in html  # the floor's side of each rate
    assert "Web servers compared" not in html
    assert "ProjectX" not in html  # a section that was never measured is left out
    assert "Every venue" not in html and "Tradovate" not in html


@pytest.mark.django_db
def test_a_venue_that_placed_an_order_twice_is_marked_on_the_page(client, results_at):
    data = sample()
    data["venues"]["alert_to_fill"]["tradelocker"]["orders_per_client_id"] = {
        "1": 38,
        "2": 1,
    }
    results_at(data)

    html = client.get(reverse("benchmarks")).content.decode()

    assert f'<td class="error">38 {TIMES} 1, 1 {TIMES} 2</td>' in html
    assert html.count("<td>1 each</td>") == 3  # paper, ProjectX, Tradovate


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        [],
        {"ack_load": {"tradeflow": [{"rate": "x"}]}},
        {"venues": {"alert_to_fill": {"paper": {"orders_per_client_id": [1]}}}},
        {"venues": {"alert_to_fill": "none"}},
    ],
)
def test_odd_shapes_never_break_the_page(client, results_at, data):
    results_at(data)

    assert client.get(reverse("benchmarks")).status_code == 200


# --- In a real browser --------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize(
    ("name", "width", "height"), [("desktop", 1280, 900), ("mobile", 390, 844)]
)
def test_the_page_reads_on_desktop_and_scrolls_tables_on_a_phone(
    live_server, settings, tmp_path, name, width, height
):
    from playwright.sync_api import expect, sync_playwright

    settings.BENCH_RESULTS_PATH = SAMPLE
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=args
        )
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(live_server.url + reverse("benchmarks"))
        expect(page.locator("#bench-ack tr[data-rate='50']")).to_contain_text("9.5")
        page.click("#bench-max-rate summary")
        expect(page.locator("#bench-max-rate details table")).to_be_visible()
        expect(page.locator("#bench-projectx")).to_contain_text("ProjectX (fake)")
        expect(page.locator("#bench-venues")).to_contain_text("TradeLocker (fake)")
        page.screenshot(path=str(tmp_path / f"bench_page_{name}.png"), full_page=True)
        page.locator("#bench-projectx").screenshot(
            path=str(tmp_path / f"bench_projectx_{name}.png")
        )
        # The page never scrolls sideways; a wide table scrolls inside its card.
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - window.innerWidth"
        )
        table = page.locator("#bench-ack table").evaluate(
            "t => [t.parentElement.scrollWidth, t.parentElement.clientWidth]"
        )
        browser.close()
    assert overflow <= 0
    if name == "mobile":
        assert table[0] > table[1]


@pytest.mark.browser
def test_the_signed_in_top_bar_wraps_on_a_phone(
    live_server, transactional_db, world, settings, tmp_path
):
    from django.test import Client
    from playwright.sync_api import sync_playwright

    settings.BENCH_RESULTS_PATH = SAMPLE
    client = Client()
    client.force_login(world.owner)
    cookie = client.cookies["sessionid"].value
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=args
        )
        context = browser.new_context(viewport={"width": 390, "height": 844})
        context.add_cookies(
            [{"name": "sessionid", "value": cookie, "url": live_server.url}]
        )
        page = context.new_page()
        page.goto(live_server.url + reverse("benchmarks"))
        page.screenshot(path=str(tmp_path / "signed_in_phone.png"))
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - window.innerWidth"
        )
        signed_in = page.locator("nav").inner_text()
        browser.close()
    assert "Log out" in signed_in
    assert overflow <= 0


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.028, "0.028"), (0.333, "0.33"), (5.92, "5.9"), (27.4, "27"), (2738.8, "2,739")],
)
def test_ratios_keep_two_significant_figures_however_small(value, shown):
    """A highest rate 36 times below the floor's read 0.0 before."""
    from dashboard.templatetags.bench import ratio

    assert ratio(value) == shown


def test_the_metatrader_figures_are_read_and_shown(client, settings):
    results = benchmark_results(SAMPLE)
    assert results is not None and results.metatrader is not None
    mt = results.metatrader
    assert mt.fill is not None and mt.fill.p99_ms == 121.9
    assert mt.pickup is not None and mt.pickup.p50_ms == 2.4
    assert mt.executed_once and (mt.idle_eas, mt.idle_errors) == (1000, 1)
    assert mt.measured_at == datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
    settings.BENCH_RESULTS_PATH = SAMPLE
    html = client.get(reverse("benchmarks")).content.decode()
    assert "MetaTrader through the Expert Advisor" in html
    assert "121.9" in html and "41.7 ms of CPU per EA per minute" in html
    assert "each command carried out once at the terminal" in html
