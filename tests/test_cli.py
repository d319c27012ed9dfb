import subprocess
import sys

import kcolor
from kcolor.cli import main


def test_version_is_printed_without_loading_tensorflow():
    probe = (
        "import sys\n"
        "from kcolor.cli import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit:\n"
        "    print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "False"
    result = subprocess.run(
        [sys.executable, "-m", "kcolor.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"kcolor {kcolor.__version__}"


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "make-tfrecords" in capsys.readouterr().out
