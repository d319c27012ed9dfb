"""Memory of ``kcolor app`` over many drops: the page served in this process, one photo
dropped N times through its HTTP API (what a browser's page calls), resident memory
read after the 5th drop and after the last.

Example:
    python scripts/app_memory.py photo.png --drops 50
"""

import argparse
import statistics
import sys
import tempfile
import time


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", help="the photo dropped each time")
    parser.add_argument("--drops", type=int, default=50, help="drops in all (50)")
    parser.add_argument("--size", type=int, default=256, help="processing size (256)")
    args = parser.parse_args(argv)
    if args.drops < 6:
        parser.error("--drops must be at least 6")

    from gradio_client import Client, handle_file

    from kcolor.app import running_app
    from kcolor.models import presets

    model = presets.read_manifest()["default"]
    seconds = []
    with running_app(port=None) as app, tempfile.TemporaryDirectory() as downloads:
        client = Client(app.address, verbose=False, download_files=downloads)
        for drop in range(args.drops):
            started = time.perf_counter()
            client.predict([handle_file(args.photo)], model, 1, "", "auto", args.size,
                           api_name="/colorize")  # fmt: skip
            seconds.append(time.perf_counter() - started)
            if drop == 4:
                after_five = resident_mb()
        after_all = resident_mb()
    print(
        f"resident memory after 5 drops {after_five:.0f} MB, after {args.drops} "
        f"{after_all:.0f} MB ({after_all - after_five:+.1f} MB); median drop "
        f"{statistics.median(seconds):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
