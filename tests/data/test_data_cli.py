"""``scratchcnn data list | download | verify`` through ``scratchcnn.cli.main``."""

from __future__ import annotations

from pathlib import Path

from scratchcnn.cli import main


def test_list_shows_every_data_set(monkeypatch, capsys) -> None:
    monkeypatch.delenv("SCRATCHCNN_DATA", raising=False)
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SPLIT", "IMAGES", "DOWNLOAD", "FOUND", "IN"]
    rows = {tuple(line.split()[:2]): line for line in lines[1:]}
    assert set(rows) == {
        (name, split)
        for name in ("mnist", "fashion-mnist", "mnist-sample")
        for split in ("train", "test")
    }
    assert "60,000" in rows[("mnist", "train")]
    assert "9.9 MB" in rows[("mnist", "train")]
    assert rows[("mnist", "train")].endswith("not downloaded")
    assert "bundled" in rows[("mnist-sample", "test")]
    assert "package:" in rows[("mnist-sample", "test")]


def test_list_with_shared_data(shared_data_dir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SCRATCHCNN_DATA", str(shared_data_dir))
    assert main(["data", "list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("mnist "))
    assert f"SCRATCHCNN_DATA: {shared_data_dir / 'mnist'}" in row


def test_verify_shared_mnist(shared_data_dir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SCRATCHCNN_DATA", str(shared_data_dir))
    assert main(["data", "verify", "mnist"]) == 0
    out = capsys.readouterr().out
    assert out.count(" OK ") == 4
    assert "mnist: all 4 files OK" in out


def test_verify_bundled_sample(capsys) -> None:
    assert main(["data", "verify", "mnist-sample"]) == 0
    assert "mnist-sample: all 4 files OK" in capsys.readouterr().out


def test_verify_reports_missing_and_mismatch(tiny, tmp_path, capsys) -> None:
    folder = tmp_path / "partial"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b not really")
    train_labels = (tiny.folder / "train-labels-idx1-ubyte.gz").read_bytes()
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(train_labels)
    assert main(["data", "verify", "tiny", "--data-dir", str(folder)]) == 1
    out = capsys.readouterr().out
    statuses = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:5]}
    assert statuses == {
        "train-images-idx3-ubyte.gz": "MISMATCH",
        "train-labels-idx1-ubyte.gz": "OK",
        "t10k-images-idx3-ubyte.gz": "missing",
        "t10k-labels-idx1-ubyte.gz": "missing",
    }
    assert "tiny: 1 MISMATCH, 2 missing of 4 files" in out
    assert "scratchcnn data download tiny" in out


def test_download_into_data_dir(tiny, http_server, tmp_path, monkeypatch, capsys) -> None:
    http_server.serve("tiny", tiny.folder, tiny.file_names())
    monkeypatch.setenv("SCRATCHCNN_MIRRORS", f"{http_server.url}/{{name}}/")
    target = tmp_path / "mine"
    assert main(["data", "download", "tiny", "--data-dir", str(target)]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in (target / "tiny").iterdir()) == sorted(tiny.file_names())
    assert out.count("downloaded from http://127.0.0.1") == 4
    assert main(["data", "download", "tiny", "--data-dir", str(target)]) == 0
    assert capsys.readouterr().out.count("already present") == 4
    assert main(["data", "verify", "tiny", "--data-dir", str(target)]) == 0


def test_download_offline_prints_one_error_line(tiny, closed_port_url, monkeypatch, capsys):
    monkeypatch.setenv("SCRATCHCNN_MIRRORS", closed_port_url)
    assert main(["data", "download", "tiny"]) == 1
    err_lines = [
        line
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("scratchcnn: error")
    ]
    assert len(err_lines) == 1
    assert "train-images-idx3-ubyte.gz" in err_lines[0]
    assert "SCRATCHCNN_DATA" in err_lines[0] and "--data-dir" in err_lines[0]


def test_download_bundled_sample_is_a_no_op(capsys) -> None:
    assert main(["data", "download", "mnist-sample"]) == 0
    assert "bundled" in capsys.readouterr().out


def test_unknown_data_set(capsys) -> None:
    assert main(["data", "verify", "cifar"]) == 1
    err = capsys.readouterr().err
    assert "unknown data set 'cifar'" in err and "mnist-sample" in err


def test_data_needs_an_action(capsys) -> None:
    assert main(["data"]) == 2
    assert "required: ACTION" in capsys.readouterr().err
