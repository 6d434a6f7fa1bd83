"""Reading tables of texts and checking label names (skepinet.tables)."""

import json

import pytest

from skepinet import labelling, tables
from skepinet.tables import LabellingError, check_labels, file_fingerprint, read_table


def test_labelling_still_offers_the_readers():
    assert labelling.read_table is read_table
    assert labelling.check_labels is check_labels
    assert labelling.LabellingError is LabellingError
    assert issubclass(labelling.StaleRowError, LabellingError)


def test_a_csv_keeps_digits_as_text(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text,other\n007,a\nhello,b\n")
    texts, pairs = read_table(path, "text")
    assert texts == ["007", "hello"] and pairs is None


def test_jsonl_with_pairs(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps({"a": f"x{i}", "b": i}) for i in range(3)) + "\n")
    texts, pairs = read_table(path, "a", pair_column="b")
    assert texts == ["x0", "x1", "x2"] and pairs == ["0", "1", "2"]


@pytest.mark.parametrize("name, content, message", [
    ("data.xyz", "a\n1\n", "cannot tell the format"),
    ("data.csv", "", "is empty"),
    ("data.csv", "text\n", "no rows"),
    ("data.csv", "other\nx\n", "no column 'text'"),
    ("data.csv", "text\nx\n\"\"\n", "empty cell"),
])
def test_bad_tables_name_the_fix(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(LabellingError, match=message):
        read_table(path, "text")


def test_a_missing_file(tmp_path):
    with pytest.raises(LabellingError, match="no such file"):
        read_table(tmp_path / "nope.csv", "text")


def test_check_labels():
    assert check_labels("pos, neg") == ["pos", "neg"]
    for bad, message in [("pos", "at least 2"), ("pos,,neg", "empty"), ("a,a", "more than once")]:
        with pytest.raises(LabellingError, match=message):
            check_labels(bad)


def test_the_fingerprint_follows_the_bytes(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text\na\n")
    before = file_fingerprint(path, chunk_bytes=2)
    assert before == file_fingerprint(path) and len(before) == 64
    path.write_text("text\nb\n")
    assert file_fingerprint(path) != before
    assert set(tables.READERS.values()) >= {"CSV", "TSV", "JSON lines", "JSON", "Parquet"}
