#!/usr/bin/env python3
"""lossyfs: a FUSE passthrough file system that can forget what was never synced.

`lossyfs.py MOUNT BACKING` mounts MOUNT over the directory BACKING (in the foreground, until
unmounted) and passes every operation through; beside BACKING it keeps a copy of each file
as of its last fsync/fdatasync: what is on the disk. A file counts as synced as it is when
the file system starts. `lossyfs.py --cut BACKING`, run once MOUNT is unmounted, puts each
file back as it was at its last sync and removes files never synced: what a power cut does
to data that was only in the page cache (LazyFS's "lose unsynced writes", RELIABILITY.md
row 27), for herald's power-loss test.

SQLite maps its `-shm` file as shared memory, which this file system cannot serve; the test
binds a file of a local file system over it (it holds no data: SQLite rebuilds it).

Needs mfusepy (PyPI) and libfuse 3.
"""

import errno
import os
import shutil
import sys
import threading


def disk_of(backing):
    return backing.rstrip("/") + ".synced"


def cut(backing):
    disk = disk_of(backing)
    for name in os.listdir(backing):
        path = os.path.join(backing, name)
        if os.path.exists(os.path.join(disk, name)):
            shutil.copyfile(os.path.join(disk, name), path)
        else:
            os.remove(path)
    print(f"cut: {backing} is as it was at its last syncs", flush=True)


def serve(mount, backing):
    import mfusepy as fuse

    disk = disk_of(backing)
    os.makedirs(disk, exist_ok=True)
    lock = threading.Lock()
    syncs = [0]

    def full(path):
        return os.path.join(backing, path.lstrip("/"))

    class Lossy(fuse.Operations):
        use_ns = True

        def getattr(self, path, fh=None):
            st = os.lstat(full(path))
            keys = ("st_mode", "st_nlink", "st_size", "st_uid", "st_gid")
            attrs = {k: getattr(st, k) for k in keys}
            for k in ("st_atime_ns", "st_mtime_ns", "st_ctime_ns"):
                attrs[k] = getattr(st, k)
            return attrs

        def readdir(self, path, fh):
            return [".", ".."] + os.listdir(full(path))

        def access(self, path, amode):
            if not os.access(full(path), amode):
                raise fuse.FuseOSError(errno.EACCES)
            return 0

        def open(self, path, flags):
            return os.open(full(path), flags)

        def create(self, path, mode, fi=None):
            return os.open(full(path), os.O_RDWR | os.O_CREAT, mode)

        def read(self, path, size, offset, fh):
            return os.pread(fh, size, offset)

        def write(self, path, data, offset, fh):
            return os.pwrite(fh, data, offset)

        def truncate(self, path, length, fh=None):
            os.truncate(full(path), length)
            return 0

        def fsync(self, path, datasync, fh):
            with lock:
                shutil.copyfile(full(path), os.path.join(disk, path.lstrip("/")))
                syncs[0] += 1
            return 0

        def flush(self, path, fh):
            return 0

        def release(self, path, fh):
            os.close(fh)
            return 0

        def unlink(self, path):
            # Metadata: taken as synced at once (not what this file system tests).
            os.unlink(full(path))
            copy = os.path.join(disk, path.lstrip("/"))
            if os.path.exists(copy):
                os.remove(copy)
            return 0

        def chmod(self, path, mode):
            os.chmod(full(path), mode)
            return 0

        def chown(self, path, uid, gid):
            os.chown(full(path), uid, gid)
            return 0

        def utimens(self, path, times=None):
            os.utime(full(path), ns=times)
            return 0

        def statfs(self, path):
            st = os.statvfs(full(path))
            keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                    "f_files", "f_flag", "f_frsize", "f_namemax")
            return {k: getattr(st, k) for k in keys}

    for name in os.listdir(backing):
        shutil.copyfile(os.path.join(backing, name), os.path.join(disk, name))
    print(f"lossyfs: {mount} over {backing}", flush=True)
    # No attribute caching: sizes change under SQLite all the time.
    fuse.FUSE(Lossy(), mount, foreground=True, attr_timeout=0, entry_timeout=0,
              negative_timeout=0)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--cut":
        cut(sys.argv[2])
    elif len(sys.argv) == 3:
        serve(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
