"""Get an ImageNet-trained trunk weights file listed in scripts/configs/trunk_weights.yaml.

The file is read from a local clone of its repository (``--git-dir``) or downloaded from
GitHub at the listed commit, checked against its size and sha256, checked to load into
the trunk it is for, and written to ``-o`` (never over an existing file). Train on it with
``--set model_args.trunk_weights=FILE``.

Example:
    python scripts/trunk_weights.py mobilenet_0.25 -o weights/mobilenet_0.25.h5
"""

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import yaml

SOURCES = Path(__file__).parent / "configs" / "trunk_weights.yaml"


def read_source(entry: dict, git_dir: str | None) -> bytes:
    """The file's bytes: from ``git_dir`` at the listed commit, else from GitHub."""
    if git_dir:
        spec = f"{entry['commit']}:{entry['path']}"
        return subprocess.run(
            ["git", "--git-dir", git_dir, "show", spec], check=True, capture_output=True
        ).stdout
    url = (
        f"https://raw.githubusercontent.com/{entry['repository']}/{entry['commit']}/{entry['path']}"
    )
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def check(entry: dict, content: bytes) -> None:
    """Raise ValueError unless ``content`` is the listed file and loads into its trunk."""
    digest = hashlib.sha256(content).hexdigest()
    if len(content) != entry["bytes"] or digest != entry["sha256"]:
        raise ValueError(
            f"{entry['repository']}/{entry['path']}: {len(content)} bytes, sha256 {digest}; "
            f"expected {entry['bytes']} bytes, sha256 {entry['sha256']} (a Git LFS pointer "
            "or another file)"
        )
    from kcolor.models import HypercolumnColorizer

    with tempfile.NamedTemporaryFile(suffix=".h5") as handle:
        handle.write(content)
        handle.flush()
        model = HypercolumnColorizer(trunk=entry["trunk"], trunk_alpha=entry["trunk_alpha"])
        model.load_trunk_weights(handle.name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="which weights file (an entry of the sources file)")
    parser.add_argument("-o", "--output", required=True, help="where to write it")
    parser.add_argument("--git-dir", help="a local clone (its .git folder) of the repository")
    parser.add_argument("--sources", default=str(SOURCES), help="the list of weights files")
    args = parser.parse_args(argv)

    sources = yaml.safe_load(Path(args.sources).read_text())
    if args.name not in sources:
        print(f"{args.sources}: no entry {args.name!r}; listed: {sorted(sources)}", file=sys.stderr)
        return 2
    entry = sources[args.name]
    output = Path(args.output)
    if output.exists():
        print(f"{output} exists; not replacing it", file=sys.stderr)
        return 1
    content = read_source(entry, args.git_dir)
    try:
        check(entry, content)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    partial.write_bytes(content)
    os.replace(partial, output)
    print(
        f"{output}: {entry['trunk']} (alpha {entry['trunk_alpha']}) ImageNet weights, "
        f"sha256 {entry['sha256']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
