"""Take a screenshot of ``kcolor app`` after it colorized some photos (the README's picture).

The page is served in this process, driven by Chromium through Playwright (the system's
Chromium: Debian's ``chromium`` package), and photographed once the result is shown.

Example:
    python scripts/app_screenshot.py old_photo.jpg -o docs/images/app.jpg
"""

import argparse
import os
import shutil
import sys

VIEWPORT = {"width": 1280, "height": 800}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+", help="photos to drop on the page")
    parser.add_argument("-o", "--output", required=True, help="the screenshot (.png or .jpg)")
    parser.add_argument("--model", help="a bundled model's name (default: the default model)")
    parser.add_argument("--force", action="store_true", help="replace an existing screenshot")
    args = parser.parse_args(argv)
    if os.path.exists(args.output) and not args.force:
        print(f"{args.output} exists (pass --force to replace it)", file=sys.stderr)
        return 1
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("no Chromium found (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    from kcolor.app import running_app

    with running_app(port=None) as app, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(app.address)
            if args.model:
                page.get_by_label("Model").select_option(args.model)
            page.set_input_files("input[type=file]", args.photos)
            page.get_by_role("button", name="Colorize").click()
            page.wait_for_function(
                "document.querySelector('#report')?.innerText.includes('Colorized')",
                timeout=300_000,
            )
            page.wait_for_function("Array.from(document.images).every(i => i.complete)")
            partial = f"{args.output}.{os.getpid()}.partial{os.path.splitext(args.output)[1]}"
            page.screenshot(path=partial, full_page=True)
            os.replace(partial, args.output)
        finally:
            browser.close()
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
