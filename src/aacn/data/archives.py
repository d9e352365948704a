"""Archive download and safe extraction for datasets shipped as tarballs."""

from __future__ import annotations

import tarfile
from pathlib import Path


class DatasetError(ValueError):
    """A dataset a user pointed at is missing, incomplete or unsafe; the message names the files and the fix."""

    exit_code = 3  # the command's exit status: data or training failure


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    pass


def safe_extract(archive: Path, destination: Path) -> None:
    """Extract a tar archive, refusing any member that would land outside ``destination``.

    Uses tarfile's ``filter="data"`` (no absolute paths, no ``..``, no links leaving the tree, no device files);
    any member it rejects aborts the extraction with a DatasetError naming the member.
    """
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            root = destination.resolve()
            for member in members:  # check all before writing any
                target = (destination / member.name).resolve()
                if target != root and root not in target.parents:
                    raise DatasetError(
                        f"refusing to extract {archive}: member {member.name!r} would land outside {destination}"
                    )
            tar.extractall(destination, members=members, filter="data")
    except tarfile.FilterError as error:
        raise DatasetError(f"refusing to extract {archive}: {error}") from None
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DatasetError(f"cannot read archive {archive} ({error}); delete it and download it again") from None


def download_archive(url: str, data_dir: Path, filename: str, md5: str) -> Path:
    """Fetch ``url`` into ``data_dir/filename`` with torchvision's downloader, checking its md5."""
    from torchvision.datasets.utils import check_integrity, download_url

    path = data_dir / filename
    if not check_integrity(str(path), md5):
        try:
            download_url(url, str(data_dir), filename, md5)
        except (OSError, RuntimeError) as error:  # no network, refused, or a download that failed its md5
            raise DatasetError(
                f"could not download {url} ({error}); fetch it by hand and place {filename} in {data_dir}"
            ) from None
    return path
