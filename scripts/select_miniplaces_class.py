"""Link one MiniPlaces scene class into train/ and val/ folders (the GAN's paper setting).

Cao et al. 2017 train and judge their GAN on one kind of scene at a time (LSUN bedrooms,
churches). MiniPlaces (MIT Places, 100 classes at 128x128) holds such classes: this
script links one class's training photos and its photos of the official validation split
(listed in ``val.txt`` by class index) into ``OUT/train`` and ``OUT/val``, so nothing is
copied. Example:
    python scripts/select_miniplaces_class.py --root miniplaces/ --class bedroom -o bedroom/
    kcolor train gan --config scripts/configs/gan_paper.yaml \
        --data bedroom/train --val bedroom/val --run-dir runs/gan_paper

``--root`` is the MiniPlaces folder holding ``categories_tinyplaces.txt``, ``val.txt`` and
``images/`` (as in the MiniPlaces release of the MIT Places team).
"""

import argparse
import sys
from pathlib import Path


def class_index(root: Path, name: str) -> tuple[str, int]:
    """The class's folder (e.g. ``b/bedroom``) and index from ``categories_tinyplaces.txt``."""
    for line in (root / "categories_tinyplaces.txt").read_text().splitlines():
        folder, index = line.split()
        if folder.rsplit("/", 1)[-1] == name:
            return folder.strip("/"), int(index)
    raise SystemExit(f"{root / 'categories_tinyplaces.txt'}: no class named {name!r}")


def link_all(sources, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for source in sources:
        target = folder / source.name
        if not target.exists():
            target.symlink_to(source.resolve())
        count += 1
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, type=Path, help="the MiniPlaces folder")
    parser.add_argument("--class", dest="name", required=True, help="class name, e.g. bedroom")
    parser.add_argument("-o", "--output", required=True, type=Path)
    args = parser.parse_args(argv)

    folder, index = class_index(args.root, args.name)
    train = sorted((args.root / "images" / "train" / folder).glob("*.jpg"))
    val = [
        args.root / "images" / path
        for path, label in (
            line.split() for line in (args.root / "val.txt").read_text().splitlines()
        )
        if int(label) == index
    ]
    if not train or not val:
        raise SystemExit(
            f"{args.root}: no photos of {args.name!r} (train {len(train)}, val {len(val)})"
        )
    print(
        f"{args.name}: {link_all(train, args.output / 'train')} training photos, "
        f"{link_all(val, args.output / 'val')} validation photos in {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
