"""A folder watcher that records every file created or changed in it, with nobody doing anything.

It notes each change (watchdog), waits until the file has stopped changing for ``settle_s``
(an app may write a file in several steps), hashes it, and records ``create`` for a path it has
not seen and ``edit`` for one it has, with the previous version's hash as the input. The tool is
inferred from the file's extension (the app that makes such files). At start it scans the folder,
so files changed while it was not running are recorded too. A file whose content is already
known for its path (nothing changed), or a new file whose content a record here already has (the
generation wrapper recorded it first), is skipped.
"""

import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ledger_recorder.client import Recorder, sha256_of

#: What makes a file of each kind, as far as its extension says.
TOOLS = {
    ".kra": "Krita", ".psd": "Adobe Photoshop", ".clip": "Clip Studio Paint", ".sai2": "PaintTool SAI", ".blend": "Blender",
    ".tvpp": "TVPaint Animation", ".aep": "Adobe After Effects", ".tgs": "Toon Boom Harmony", ".csp": "Clip Studio Paint",
    ".png": "image file", ".jpg": "image file", ".jpeg": "image file", ".webp": "image file", ".tif": "image file",
    ".tiff": "image file", ".exr": "image file", ".mp4": "video file", ".mov": "video file", ".wav": "audio file", ".txt": "text file",
}  # fmt: skip


def ignored(path: Path) -> bool:
    """Temporary and hidden files apps write while saving."""
    name = path.name
    return name.startswith((".", "~")) or name.endswith(("~", ".tmp", ".swp", ".part", ".crdownload", "-journal"))


class FolderRecorder(FileSystemEventHandler):
    def __init__(self, recorder: Recorder, root: Path, settle_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.recorder = recorder
        self.root = root.resolve()
        self.settle_s = settle_s
        self._clock = clock
        self._changed: dict[Path, float] = {}
        self._lock = threading.Lock()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type not in ("created", "modified", "moved", "closed"):
            return
        target = getattr(event, "dest_path", "") or event.src_path
        path = Path(str(target))
        if not ignored(path):
            with self._lock:
                self._changed[path] = self._clock()

    def scan(self) -> None:
        """Every file under the folder counts as changed: what changed while nobody watched is recorded."""
        now = self._clock()
        with self._lock:
            for path in self.root.rglob("*"):
                if path.is_file() and not ignored(path):
                    self._changed.setdefault(path, now - self.settle_s)

    def settle(self, force: bool = False) -> int:
        """Records the files that have stopped changing (all of them with ``force``); returns how many."""
        now = self._clock()
        with self._lock:
            ready = [p for p, at in self._changed.items() if force or now - at >= self.settle_s]
            for p in ready:
                del self._changed[p]
        recorded = 0
        for path in sorted(ready):
            recorded += self._record(path)
        return recorded

    def _record(self, path: Path) -> int:
        try:
            digest = sha256_of(path)
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            return 0  # gone (a temporary file renamed away) or unreadable
        key, content = str(path.resolve()), "0x" + digest.hex()
        previous = self.recorder.queue.last_hash_of(key)
        if previous == content:
            return 0
        if previous is None and self.recorder.queue.recorded(content):  # recorded already (a generation), under this content
            self.recorder.queue.remember(key, content)
            return 0
        action = "create" if previous is None else "edit"
        inputs = [bytes.fromhex(previous[2:])] if previous else []
        self.recorder.record(action, digest, inputs, tool=TOOLS.get(path.suffix.lower(), "file"), tool_version="")
        self.recorder.queue.remember(key, "0x" + digest.hex())
        return 1


class Watcher:
    """Runs a FolderRecorder: watchdog's observer, a settling loop, background flushing."""

    def __init__(self, recorder: Recorder, root: Path, settle_s: float = 1.0, flush_every_s: float = 5.0) -> None:
        self.handler = FolderRecorder(recorder, root, settle_s)
        self.recorder = recorder
        self._observer = Observer()
        self._observer.schedule(self.handler, str(self.handler.root), recursive=True)
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None
        self._flush_every_s = flush_every_s

    def start(self) -> None:
        self._observer.start()
        self.handler.scan()
        self.recorder.start(self._flush_every_s)

        def loop() -> None:
            while not self._stop.wait(min(0.2, self.handler.settle_s)):
                self.handler.settle()

        self._loop = threading.Thread(target=loop, name="recorder-settle", daemon=True)
        self._loop.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join()
        self._stop.set()
        if self._loop is not None:
            self._loop.join()
        self.handler.settle(force=True)
        self.recorder.stop()
