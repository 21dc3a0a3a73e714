"""docs/benchmarks.md's figures table is what `python -m bench --write-doc` makes of the
committed bench/results.json, to the character: the doc can hold no figure a run did not
print. After `make bench`, commit bench/results.json with the regenerated doc."""

from __future__ import annotations

from bench import results


def _table_in_doc() -> str:
    doc = results.DOC.read_text(encoding="utf-8")
    assert doc.count(results.BEGIN) == 1 and doc.count(results.END) == 1, "the figures markers, once each"
    return doc.split(results.BEGIN, 1)[1].split(results.END, 1)[0].strip("\n")


def test_the_doc_table_is_made_from_the_committed_results():
    assert _table_in_doc() == results.render(results.load()), (
        "docs/benchmarks.md's figures differ from bench/results.json: run `python -m bench --write-doc`"
    )


def test_the_results_say_when_where_and_how_many_rounds():
    found = results.load()
    assert found["date"] and found["machine"]["cpus"] and found["machine"]["python"]
    assert {"iterations", "warmup", "import_runs"} <= set(found["rounds"])
    assert found["sections"], "a full run's sections"
    for name, section in found["sections"].items():
        for figure in section.get("figures", []):
            assert set(figure) == {"figure", "value", "unit", "baseline", "baseline_value", "ratio", "spread"}, name


def test_replacing_the_table_keeps_the_prose_around_it():
    doc = f"prose\n{results.BEGIN}\nold\n{results.END}\nafter\n"
    assert results.replace_table(doc, "new") == f"prose\n{results.BEGIN}\nnew\n{results.END}\nafter\n"
