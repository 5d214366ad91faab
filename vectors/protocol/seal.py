"""Replace each trailing ' ~crc' in the vector files with the CRC-32 of the line's body."""
import pathlib
import re
import zlib

HERE = pathlib.Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"^((?:send|expect): )(.*) ~crc$")


def seal(text):
    out = []
    for line in text.split("\n"):
        m = PLACEHOLDER.match(line)
        if m:
            body = m.group(2)
            line = "%s%s %08x" % (m.group(1), body, zlib.crc32(body.encode("ascii")))
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
