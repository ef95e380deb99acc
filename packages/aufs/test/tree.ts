// A tree as comparable text: one line per entry with its kind, mode, owner and content or link target.
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export function treeLines(root: string, hide: (name: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (hide(name)) continue;
      const abs = join(dir, name);
      const r = `${rel}/${name}`;
      const st = lstatSync(abs);
      const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isDirectory()) {
        out.push(`${r} dir ${meta}`);
        walk(abs, r);
      } else if (st.isFile()) out.push(`${r} file ${meta} ${readFileSync(abs, 'utf8')}`);
      else if (st.isSymbolicLink()) out.push(`${r} symlink -> ${readlinkSync(abs)}`);
      else out.push(`${r} other ${st.mode.toString(8)} ${st.rdev}`);
    }
  };
  walk(root, '');
  return out;
}
