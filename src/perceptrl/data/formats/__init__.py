"""One module per on-disk format; each has ``read(path, ...) -> list[Example]`` and
``write(examples, path, ...) -> Path``. :mod:`perceptrl.data.io` picks one."""
