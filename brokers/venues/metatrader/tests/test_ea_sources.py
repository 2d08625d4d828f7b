"""The Expert Advisors' sources against the protocol (docs/ea-protocol.md).

MetaEditor, the only MQL compiler, does not run here or in CI, so nothing compiles
or runs `ea/TradeFlow.mq5` and `ea/TradeFlow.mq4`. What would drift silently is
the contract, so this test reads the sources and holds them to `protocol.py`.

The EAs keep every protocol name findable: paths, actions, statuses, order types,
sides and error codes are `#define`d constants (`PATH_*`, `ACTION_*`, `STATUS_*`,
`TYPE_*`, `SIDE_*`, `CODE_*`), and every JSON key or query parameter is the first
string argument of `JsonGet*(...)`, `JsonAdd*(...)` or `UrlParam(...)`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from brokers.venues.metatrader import protocol

EA_DIR = Path(__file__).resolve().parents[4] / "ea"
SOURCES = ("TradeFlow.mq5", "TradeFlow.mq4")

STRING = r'"(?:[^"\\\n]|\\.)*"'
TOKENS = re.compile(STRING + r"|//[^\n]*|/\*.*?\*/", re.S)
LITERAL = re.compile(STRING)
KINDS = "PATH|ACTION|STATUS|TYPE|SIDE|CODE"
DEFINE = re.compile(rf'^\s*#define\s+(({KINDS})_\w+)\s+"([^"]*)"', re.M)
KEY = re.compile(r'\b(?:Json(?:Get|Add)\w*|UrlParam)\s*\([^"()]*"([^"\\]*)"')
HAND_KEY = re.compile(r'\\"(\w+)\\"')  # JSON written by hand: "\"key\":"
INPUT = re.compile(r"^\s*s?input\s+\w+\s+(\w+)\s*=", re.M)

ALLOWED = {
    "PATH": protocol.PATHS,
    "ACTION": protocol.ACTIONS,
    "STATUS": protocol.ACK_STATUSES,
    "TYPE": protocol.ORDER_TYPES,
    "SIDE": protocol.SIDES,
    "CODE": protocol.ERROR_CODES,
}
PROTOCOL_WORDS = frozenset().union(*ALLOWED.values())


def _code(text: str) -> str:
    """The source without its comments (string literals kept)."""
    return TOKENS.sub(lambda m: m.group() if m.group().startswith('"') else "", text)


def _literals(text: str) -> list[str]:
    return [m.group()[1:-1] for m in LITERAL.finditer(text)]


@pytest.fixture(params=SOURCES)
def source(request: pytest.FixtureRequest) -> str:
    return _code((EA_DIR / request.param).read_text(encoding="utf-8"))


def _defines(source: str) -> dict[str, tuple[str, str]]:
    """name -> (kind, value) of the protocol constants."""
    return {m[1]: (m[2], m[3]) for m in DEFINE.finditer(source)}


def test_paths_are_the_protocols(source: str) -> None:
    used = {s for s in _literals(source) if s.startswith(protocol.PREFIX)}
    assert used == protocol.PATHS


def test_json_names_are_the_protocols(source: str) -> None:
    keys = set(KEY.findall(source))
    assert len(keys) > 30, "the JSON helpers were not found"
    assert keys - protocol.NAMES == set()
    assert set(HAND_KEY.findall(source)) - protocol.NAMES == set()


def test_constants_are_the_protocols(source: str) -> None:
    defines = _defines(source)
    for name, (kind, value) in defines.items():
        assert value in ALLOWED[kind], f"{name} = {value!r}"
        uses = len(re.findall(rf"\b{name}\b", source))
        assert uses >= 2, f"{name} is defined but never used"
    actions = {value for kind, value in defines.values() if kind == "ACTION"}
    assert actions == protocol.ACTIONS
    assert re.search(rf'#define\s+TOKEN_PREFIX\s+"{protocol.TOKEN_PREFIX}"', source)
    words = set(re.findall(r'^\s*#define\s+WORD_\w+\s+"([^"]*)"', source, re.M))
    assert protocol.AFTER_FAILED in words
    assert words <= protocol.WORDS, words - protocol.WORDS


def test_protocol_words_only_through_constants(source: str) -> None:
    """A bare "filled" or "open" would escape the checks above."""
    body = "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith("#define")
    )
    assert set(_literals(body)) & PROTOCOL_WORDS == set()


def test_bearer_token_and_inputs(source: str) -> None:
    assert '"Authorization: Bearer "+Token' in source.replace(" +", "+")
    inputs = set(INPUT.findall(source))
    assert {"ServerUrl", "Token", "SymbolSuffix", "MagicNumber"} <= inputs
