"""LINT-declaration-conflict: a spec agrees with the library headers its generated header
includes. The rule's broken-spec cases over <sqlite3.h> are in test_lint_rules.py; here: a
second library (the kv fixture, found through CPATH as a user's build would find it), the
canonical types (every spelling the compiler treats as one type compares equal, and no two
types it tells apart do), the header a spec that passes this lint generates compiling beside
the library's, and the check saying so when it could not run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.lints import included as inc
from generator.lints.declared import reading, unchecked_note
from generator.lints.included import Declared, Unchecked, declare, of_ctype
from generator.problems import SpecError
from generator.render import ARTEFACTS, render_all
from generator.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
KV = ROOT / "tests" / "fixtures" / "headers" / "roundtrip"
KV_SPEC = (KV / "kv.yaml").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test reads headers afresh, with its own cache and include path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("CPATH", str(KV / "lib"))
    inc.included.cache_clear()


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kv.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _rules(tmp_path: Path, text: str) -> list[str]:
    try:
        load_spec(_spec(tmp_path, text))
    except SpecError as exc:
        return [p.render() for p in exc.problems]
    return []


def test_a_spec_that_agrees_with_its_header_passes_and_was_really_checked(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, KV_SPEC))
    found = reading(spec)
    assert isinstance(found, Declared), found
    assert {"kv_open", "kv_put", "kv_errmsg"} <= set(found.functions)
    assert unchecked_note(spec) is None


@pytest.mark.parametrize(("old", "new", "says"), [
    ('{name: n, type: int, direction: in', '{name: n, type: long, direction: in',
     "parameter n of kv_put is `long` here and `int` in <kv.h>"),
    ('    returns: void\n    params: ["void*"]', '    returns: int\n    params: ["void*"]',
     "type kv_free_fn is `typedef int (*kv_free_fn)(void*);` here"),
    ("  - name: kv_store\n    doc: An open store.\n    header: kv.h",
     "  - name: kv_store\n    doc: An open store.\n    header: kv.h\n    struct_tag: kv_db",
     "handle kv_store is `typedef struct kv_db kv_store;` here but"),
])
def test_a_second_library_s_conflicts_are_found(tmp_path: Path, old: str, new: str, says: str) -> None:
    assert KV_SPEC.count(old) == 1, old
    found = _rules(tmp_path, KV_SPEC.replace(old, new))
    assert any("LINT-declaration-conflict" in f and says in f for f in found), found


def test_the_header_of_a_spec_that_passes_compiles_beside_the_library_s(tmp_path: Path) -> None:
    """What the lint accepts compiles; what it refuses would not have (the compiler agrees)."""
    good = load_spec(_spec(tmp_path, KV_SPEC))
    path = good.interface.header.path
    header = render_all(good, {}, [a for a in ARTEFACTS if a.target(good) == path])[path]
    unit = tmp_path / "unit.c"
    unit.write_text(header, encoding="utf-8")
    ok = subprocess.run(["cc", "-fsyntax-only", "-Werror", f"-I{KV / 'lib'}", str(unit)],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    bad = header.replace("int kv_put(kv_store* store, const char* key, const char* value, int n,",
                         "int kv_put(kv_store* store, const char* key, const char* value, long n,")
    assert bad != header
    unit.write_text(bad, encoding="utf-8")
    refused = subprocess.run(["cc", "-fsyntax-only", f"-I{KV / 'lib'}", str(unit)],
                             capture_output=True, text=True, check=False)
    assert "conflicting types for" in refused.stderr
    assert any("parameter n of kv_put" in f for f in _rules(tmp_path, KV_SPEC.replace(
        "{name: n, type: int, direction: in", "{name: n, type: long, direction: in")))


HEADER = """
typedef long long int t_i64;
typedef t_i64 t_big;
typedef struct t_conn t_conn;
typedef void (*t_free)(void *);
typedef const char *t_str;
int t_names(t_conn *c, const char *const *names, unsigned n);
int t_fill(t_conn *c, unsigned char buf[16]);
t_big t_size(const t_conn *c);
int t_log(const char *fmt, ...);
int t_set(t_conn *c, t_str s, t_free f);
long unsigned int t_count(void);
"""


@pytest.fixture()
def declared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Declared:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "t.h").write_text(HEADER, encoding="utf-8")
    monkeypatch.setenv("CPATH", str(tmp_path / "inc"))
    found = inc.included(("t.h",))
    assert isinstance(found, Declared), found
    return found


def _params(found: Declared, name: str) -> list[list[object]]:
    return list(found.functions[name].canon[2])


def test_spellings_the_compiler_treats_as_one_type_compare_equal(declared: Declared) -> None:
    d = declared
    assert of_ctype("long long", False, (), d) == of_ctype("t_big", False, (), d) \
        == of_ctype("t_i64", False, (), d) == d.functions["t_size"].canon[1]
    assert _params(d, "t_names")[2] == of_ctype("unsigned int", False, (), d)
    assert _params(d, "t_fill")[1] == of_ctype("unsigned char", False, (False,), d)  # array = pointer
    assert _params(d, "t_set")[1] == of_ctype("char", True, (False,), d)  # t_str = const char*
    assert _params(d, "t_set")[2] == of_ctype("t_free", False, (), d)
    assert _params(d, "t_size")[0] == of_ctype("t_conn", True, (False,), d)
    assert d.functions["t_count"].canon[1] == of_ctype("unsigned long", False, (), d)
    assert d.functions["t_log"].canon[3] is True


def test_types_the_compiler_tells_apart_compare_different(declared: Declared) -> None:
    d = declared
    names = _params(d, "t_names")[1]
    assert names == of_ctype("char", True, (True, False), d)          # const char* const*
    assert names != of_ctype("char", True, (False, False), d)         # const char**
    assert names != of_ctype("char", False, (True, False), d)         # char* const*
    assert of_ctype("long", False, (), d) != of_ctype("t_i64", False, (), d)
    assert of_ctype("t_conn", False, (False,), d) != _params(d, "t_size")[0]


def test_declarations_are_shown_as_the_header_writes_them(declared: Declared) -> None:
    assert declared.functions["t_names"].text == \
        "int t_names(t_conn*, const char* const*, unsigned int);"
    assert declared.functions["t_set"].text == "int t_set(t_conn*, t_str, t_free);"
    assert declared.typedefs["t_free"].text == "typedef void (*t_free)(void*);"
    assert declared.functions["t_log"].text == "int t_log(const char*, ...);"
    assert declare(declared.typedefs["t_big"].canon, "x") == "long long x"


def test_the_reading_is_cached_and_a_damaged_cache_is_read_again(declared: Declared,
                                                                 tmp_path: Path) -> None:
    files = list((tmp_path / "cache" / "ffispec").glob("declared-*.json"))
    assert len(files) == 1
    inc.included.cache_clear()
    assert inc.included(("t.h",)) == declared
    files[0].write_text("{not json", encoding="utf-8")
    inc.included.cache_clear()
    assert inc.included(("t.h",)) == declared


def test_lint_says_when_the_check_could_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _spec(tmp_path, KV_SPEC)
    monkeypatch.setenv("CPATH", str(tmp_path))  # kv.h is nowhere on the include path
    proc = subprocess.run([sys.executable, "-m", "generator", "lint", "--spec", str(path)],
                          cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**_env(tmp_path), "CPATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "note: declarations not checked against <kv.h>:" in proc.stdout
    assert "kv.h: No such file or directory" in proc.stdout
    inc.included.cache_clear()
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    found = inc.included(("kv.h",))
    assert isinstance(found, Unchecked) and "did not run" in found.reason


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
