// A minimal writer for the "newc" cpio format the kernel unpacks as an initramfs
// (https://docs.kernel.org/driver-api/early-userspace/buffer-format.html). Written here rather than
// shelling out to cpio(1) so that every entry is owned by root without needing root on the host.
import { closeSync, openSync, writeSync } from 'node:fs';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export class CpioWriter {
  #fd;
  #offset = 0;
  #ino = 1;

  constructor(path) {
    this.#fd = openSync(path, 'w');
  }

  dir(name, mode = 0o755) {
    this.#entry(name, S_IFDIR | mode, Buffer.alloc(0));
  }

  file(name, data, mode = 0o644) {
    this.#entry(name, S_IFREG | mode, data);
  }

  symlink(name, target) {
    this.#entry(name, S_IFLNK | 0o777, Buffer.from(target));
  }

  close() {
    this.#entry('TRAILER!!!', 0, Buffer.alloc(0));
    closeSync(this.#fd);
  }

  #entry(name, mode, data) {
    const nameBytes = Buffer.from(`${name}\0`);
    const fields = [this.#ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
    const header = `070701${fields.map((n) => n.toString(16).padStart(8, '0')).join('')}`;
    this.#write(Buffer.from(header));
    this.#write(nameBytes);
    this.#pad();
    this.#write(data);
    this.#pad();
  }

  #write(buf) {
    if (buf.length > 0) writeSync(this.#fd, buf);
    this.#offset += buf.length;
  }

  #pad() {
    const rest = this.#offset % 4;
    if (rest !== 0) this.#write(Buffer.alloc(4 - rest));
  }
}
