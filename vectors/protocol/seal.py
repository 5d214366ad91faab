"""Replace each trailing ' ~crc' in the vector files with the CRC-32 of the line's body.

The CRC is over the bytes the line stands for (after the \\xHH and \\\\ escapes of README.md)."""
import pathlib
import re
import zlib

HERE = pathlib.Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"^((?:send|expect): )(.*) ~crc$")


def unescape(text):
    """The bytes a send/expect value stands for."""
    return re.sub(rb"\\(x[0-9a-fA-F]{2}|\\)",
                  lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1)[1:], 16)]),
                  text.encode("ascii"))


def seal(text):
    out = []
    for line in text.split("\n"):
        m = PLACEHOLDER.match(line)
        if m:
            line = "%s%s %08x" % (m.group(1), m.group(2), zlib.crc32(unescape(m.group(2))))
        out.append(line)
    return "\n".join(out)


def main():
    for path in sorted(HERE.glob("*.vec")):
        old = path.read_text(encoding="utf-8")
        new = seal(old)
        if new != old:
            path.write_text(new, encoding="utf-8")
            print("sealed", path.name)


if __name__ == "__main__":
    main()
