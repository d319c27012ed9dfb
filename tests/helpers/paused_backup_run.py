"""``kcolor train`` whose second backup write stops half-way and waits to be killed.

Usage: python paused_backup_run.py KCOLOR_TRAIN_ARGUMENTS...

The first epoch's backup is written normally; while writing the second, the process
writes half of the file, prints PAUSED and sleeps, so a test can kill it at that moment.
"""

import sys
import time

import keras

from kcolor import cli

_real_save_weights = keras.Model.save_weights
_backups = []


def _pausing_save_weights(self, filepath, *args, **kwargs):
    if ".partial-" in str(filepath):
        _backups.append(filepath)
        if len(_backups) == 2:
            _real_save_weights(self, filepath, *args, **kwargs)
            with open(filepath, "r+b") as handle:
                handle.truncate(handle.seek(0, 2) // 2)
            print("PAUSED", flush=True)
            time.sleep(3600)
    return _real_save_weights(self, filepath, *args, **kwargs)


keras.Model.save_weights = _pausing_save_weights
sys.exit(cli.main(sys.argv[1:]))
