"""The GLUE loader: the real SST-2 and RTE files, synthetic files with each format quirk, errors."""

import csv
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from skepinet.datasets import load_glue

GLUE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "glue"
needs_glue = pytest.mark.skipif(not (GLUE / "SST-2").is_dir() or not (GLUE / "RTE").is_dir(),
                                reason=f"real GLUE data not found at {GLUE}")


def write(data_dir, folder, name, lines, *, bom=False, newline="\n"):
    """Write a GLUE-style TSV: ``lines`` are lists of fields (or raw strings)."""
    text = newline.join(line if isinstance(line, str) else "\t".join(line) for line in lines)
    path = data_dir / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (text + newline).encode("utf-8"))
    return path


def assert_str_array(X, shape):
    assert isinstance(X, np.ndarray) and X.dtype == object and X.shape == shape
    assert all(isinstance(s, str) for s in X.ravel())


# ---------------------------------------------------------------------------- real files


@needs_glue
@pytest.mark.parametrize("split, n, first, label", [
    ("train", 67349, "hide new secretions from the parental units ", 0),
    ("validation", 872, "it 's a charming and often affecting journey . ", 1),
])
def test_real_sst2(split, n, first, label):
    X, y = load_glue("SST-2", GLUE, split)
    assert_str_array(X, (n,))
    assert y.shape == (n,) and y.dtype == np.int64 and set(np.unique(y)) == {0, 1}
    assert X[0] == first and y[0] == label


@needs_glue
@pytest.mark.parametrize("split, n, first", [
    ("train", 2490, ("No Weapons of Mass Destruction Found in Iraq Yet.",
                     "Weapons of Mass Destruction Found in Iraq.")),
    ("validation", 277, ("Dana Reeve, the widow of the actor Christopher Reeve, has died of lung "
                         "cancer at age 44, according to the Christopher Reeve Foundation.",
                         "Christopher Reeve had an accident.")),
])
def test_real_rte(split, n, first):
    X, y = load_glue("rte", str(GLUE), split)
    assert_str_array(X, (n, 2))
    assert y.shape == (n,) and y.dtype == object
    assert set(y) == {"entailment", "not_entailment"}
    assert tuple(X[0]) == first and y[0] == "not_entailment"


@needs_glue
def test_real_rte_keeps_bare_quotes_and_indexes_like_sklearn():
    X, y = load_glue("RTE", GLUE, "validation")
    assert any('irreconcilable differences" as the reason' in s for s in X[:, 0])
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=77, random_state=0)
    assert X_train.shape == (200, 2) and X_test.shape == (77, 2) and len(y_test) == 77
    assert X[[3, 1]].shape == (2, 2) and len(X) == 277


@needs_glue
@pytest.mark.parametrize("task", ["sst2", "SST-2", "Sst_2", "sst-2"])
def test_task_names_are_case_and_hyphen_insensitive(task):
    assert len(load_glue(task, GLUE, "validation")[0]) == 872


# ---------------------------------------------------------------------------- format quirks


def test_cola_has_no_header(tmp_path):
    write(tmp_path, "CoLA", "train.tsv", [
        ["gj04", "1", "", "Our friends won't buy this analysis, let alone the next one."],
        ["gj04", "0", "*", "They drank the pub."],
    ])
    X, y = load_glue("cola", tmp_path)
    assert_str_array(X, (2,))
    assert X[1] == "They drank the pub." and y.tolist() == [1, 0] and y.dtype == np.int64


def test_mrpc_bom_and_bare_quotes_are_read_verbatim(tmp_path):
    s1 = '"Amrozi accused his brother , whom he called " the witness " , of distorting evidence .'
    s2 = 'Referring to him as only " the witness " , Amrozi accused his brother .'
    path = write(tmp_path, "MRPC", "dev.tsv", [
        ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"],
        ["1", "702876", "702977", s1, s2],
        ["0", "2108705", "2108831", 'Yucaipa owned " 49 percent', "Yucaipa bought it ."],
    ], bom=True)
    with open(path, encoding="utf-8-sig", newline="") as f:  # default quoting mangles s1
        assert list(csv.reader(f, delimiter="\t"))[1][3] != s1
    X, y = load_glue("MRPC", tmp_path, "validation")
    assert_str_array(X, (2, 2))
    assert tuple(X[0]) == (s1, s2) and X[1, 0] == 'Yucaipa owned " 49 percent'
    assert y.tolist() == [1, 0]


MNLI_TRAIN = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse",
              "sentence2_binary_parse", "sentence1_parse", "sentence2_parse", "sentence1",
              "sentence2", "label1", "gold_label"]
MNLI_DEV = MNLI_TRAIN[:-1] + ["label2", "label3", "label4", "label5", "gold_label"]


def mnli_row(i, s1, s2, label, dev):
    return [str(i), "1", f"{i}e", "fiction", "( x )", "( y )", "(ROOT x)", "(ROOT y)", s1, s2,
            label] + ([label] * 4 if dev else []) + [label]


def test_mnli_matched_and_mismatched(tmp_path):
    write(tmp_path, "MNLI", "train.tsv", [MNLI_TRAIN, mnli_row(0, "a", "b", "neutral", False)])
    write(tmp_path, "MNLI", "dev_matched.tsv", [
        MNLI_DEV, mnli_row(0, "m1", "m2", "contradiction", True),
        mnli_row(1, "m3", "m4", "entailment", True)])
    write(tmp_path, "MNLI", "dev_mismatched.tsv", [
        MNLI_DEV, mnli_row(0, 'says "hi', "mm2", "neutral", True)])
    X, y = load_glue("mnli", tmp_path)
    assert tuple(X[0]) == ("a", "b") and y.tolist() == ["neutral"]
    X, y = load_glue("MNLI", tmp_path, "validation_matched")
    assert_str_array(X, (2, 2))
    assert X[:, 1].tolist() == ["m2", "m4"] and y.tolist() == ["contradiction", "entailment"]
    X, y = load_glue("mnli", tmp_path, split="validation_mismatched")
    assert tuple(X[0]) == ('says "hi', "mm2") and y.tolist() == ["neutral"]


def test_qqp_malformed_rows_are_skipped_with_one_warning(tmp_path):
    write(tmp_path, "QQP", "train.tsv", [
        ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"],
        ["0", "1", "2", "How do I learn?", "How can I learn?", "1"],
        ["1", "3", "4", "What is the first half of a question split"],
        ["over two lines?", "Other question?", "0"],
        ["2", "5", "6", "Why?", "Why not?", "0"],
    ])
    with pytest.warns(UserWarning, match=r"skipped 2 malformed row\(s\).*line 3, 4") as record:
        X, y = load_glue("qqp", tmp_path)
    assert len(record) == 1 and "train.tsv" in str(record[0].message)
    assert X.tolist() == [["How do I learn?", "How can I learn?"], ["Why?", "Why not?"]]
    assert y.tolist() == [1, 0] and y.dtype == np.int64


@pytest.mark.parametrize("task, header, rows, labels", [
    ("QNLI", ["index", "question", "sentence", "label"],
     [["0", "What is it?", "It is a test.", "entailment"],
      ["1", 'Who said "no?', "Nobody.", "not_entailment"]], ["entailment", "not_entailment"]),
    ("WNLI", ["index", "sentence1", "sentence2", "label"],
     [["0", "I stuck a pin through a carrot.", "The carrot had a hole.", "1"],
      ["1", "John couldn't see the stage.", "John is short.", "0"]], [1, 0]),
])
def test_qnli_and_wnli_with_crlf_line_ends(tmp_path, task, header, rows, labels):
    write(tmp_path, task, "dev.tsv", [header, *rows], newline="\r\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, y = load_glue(task.lower(), tmp_path, "validation")
    assert_str_array(X, (2, 2))
    assert X.tolist() == [row[1:3] for row in rows] and y.tolist() == labels


# ---------------------------------------------------------------------------- errors


RTE_HEADER = ["index", "sentence1", "sentence2", "label"]


def test_missing_data_dir_names_path_and_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere.*RTE.*download_glue_data"):
        load_glue("rte", tmp_path / "nowhere")


def test_missing_file_names_it(tmp_path):
    write(tmp_path, "RTE", "train.tsv", [RTE_HEADER, ["0", "a", "b", "entailment"]])
    with pytest.raises(FileNotFoundError, match=r"dev\.tsv.*expected layout.*<data_dir>/RTE/"):
        load_glue("rte", tmp_path, "validation")


@pytest.mark.parametrize("kwargs, match", [
    (dict(task="stsb"), r"task='stsb'.*SST-2, CoLA, MRPC, RTE, QNLI, QQP, MNLI, WNLI"),
    (dict(task="rte", split="test"), r"split='test'.*'train', 'validation'"),
    (dict(task="mnli", split="validation"), r"'validation_matched', 'validation_mismatched'"),
    (dict(task="rte", source="web"), r"source='web'.*'auto', 'files', 'hub'"),
    (dict(task="rte", data_dir=None, source="files"), r"data_dir=None.*source='hub'"),
])
def test_bad_arguments_are_named(tmp_path, kwargs, match):
    kwargs.setdefault("data_dir", tmp_path)
    with pytest.raises(ValueError, match=match):
        load_glue(**kwargs)


@pytest.mark.parametrize("lines, match", [
    ([["index", "sentence1", "sentence2", "gold"], ["0", "a", "b", "entailment"]],
     r"train\.tsv, line 1: header lacks column\(s\) \['label'\]"),
    ([RTE_HEADER, ["0", "a", "b", "entailment"], ["1", "a", "entailment"]],
     r"train\.tsv, line 3: 3 tab-separated field\(s\), expected 4"),
    ([RTE_HEADER, ["0", "a", "b", "maybe"]], r"train\.tsv, line 2: label 'maybe' is not one of"),
    ([RTE_HEADER], r"train\.tsv holds no data rows"),
])
def test_malformed_files_name_file_and_line(tmp_path, lines, match):
    write(tmp_path, "RTE", "train.tsv", lines)
    with pytest.raises(ValueError, match=match):
        load_glue("rte", tmp_path)


def test_cola_wrong_field_count_raises(tmp_path):
    write(tmp_path, "CoLA", "dev.tsv", [["gj04", "1", "", "Fine."], ["gj04", "1", "Short."]])
    with pytest.raises(ValueError, match=r"dev\.tsv, line 2: 3 tab-separated field\(s\), "
                                         r"expected 4"):
        load_glue("CoLA", tmp_path, "validation")


# ---------------------------------------------------------------------------- hub path


@pytest.mark.parametrize("kwargs", [dict(source="hub", data_dir="ignored"), dict()])
def test_hub_without_datasets_library_explains(monkeypatch, kwargs):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(ImportError, match=r"'datasets' package \(pip install datasets\)"):
        load_glue("sst2", **kwargs)


def test_hub_path_returns_the_file_conventions(monkeypatch):
    class FakeSplit(dict):
        features = {"label": types.SimpleNamespace(
            int2str=lambda i: ["entailment", "neutral", "contradiction"][i])}

    calls = []

    def load_dataset(path, name, split):
        calls.append((path, name, split))
        if name == "mnli":
            return FakeSplit(premise=["p1", "p2"], hypothesis=["h1", "h2"], label=[2, 0])
        return FakeSplit(sentence=["good", "bad"], label=[1, 0])

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    X, y = load_glue("MNLI", split="validation_mismatched", source="hub")
    assert X.tolist() == [["p1", "h1"], ["p2", "h2"]]
    assert y.tolist() == ["contradiction", "entailment"] and y.dtype == object
    X, y = load_glue("SST-2")
    assert X.tolist() == ["good", "bad"] and y.tolist() == [1, 0] and y.dtype == np.int64
    assert calls == [("nyu-mll/glue", "mnli", "validation_mismatched"),
                     ("nyu-mll/glue", "sst2", "train")]
