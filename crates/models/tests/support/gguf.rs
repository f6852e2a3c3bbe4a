//! Rewrites one string of a GGUF file's metadata (the chat template), leaving the weights
//! untouched: a real model carrying another model family's template, for template tests.

use std::path::Path;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        s
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().unwrap())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().unwrap())
    }
    fn string(&mut self) -> String {
        let n = self.u64() as usize;
        String::from_utf8(self.take(n).to_vec()).unwrap()
    }
    /// Skips a value of GGUF type `ty`.
    fn skip_value(&mut self, ty: u32) {
        match ty {
            0 | 1 | 7 => self.at += 1,
            2 | 3 => self.at += 2,
            4..=6 => self.at += 4,
            10..=12 => self.at += 8,
            8 => {
                let n = self.u64() as usize;
                self.at += n;
            }
            9 => {
                let elem = self.u32();
                let count = self.u64();
                for _ in 0..count {
                    self.skip_value(elem);
                }
            }
            other => panic!("unknown GGUF value type {other}"),
        }
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Copies the GGUF at `from` to `to` with `tokenizer.chat_template` set to `template`.
pub fn with_chat_template(from: &Path, to: &Path, template: &str) {
    const KEY: &str = "tokenizer.chat_template";
    let bytes = std::fs::read(from).unwrap();
    let mut r = Reader {
        bytes: &bytes,
        at: 0,
    };
    assert_eq!(r.take(4), b"GGUF", "not a GGUF file");
    let version = r.u32();
    assert!(version >= 2, "GGUF v{version} is too old");
    let tensors = r.u64();
    let kvs = r.u64();

    let mut meta = Vec::new();
    let mut alignment = 32u64;
    let mut replaced = false;
    for _ in 0..kvs {
        let start = r.at;
        let key = r.string();
        let ty = r.u32();
        if key == KEY {
            put_string(&mut meta, KEY);
            meta.extend_from_slice(&8u32.to_le_bytes());
            put_string(&mut meta, template);
            r.skip_value(ty);
            replaced = true;
            continue;
        }
        if key == "general.alignment" && ty == 4 {
            let at = r.at;
            alignment = u64::from(r.u32());
            r.at = at;
        }
        r.skip_value(ty);
        meta.extend_from_slice(&bytes[start..r.at]);
    }
    if !replaced {
        put_string(&mut meta, KEY);
        meta.extend_from_slice(&8u32.to_le_bytes());
        put_string(&mut meta, template);
    }
    let infos_start = r.at;
    for _ in 0..tensors {
        let _name = r.string();
        let dims = r.u32();
        r.at += 8 * dims as usize + 4 + 8;
    }
    let infos = &bytes[infos_start..r.at];
    let align = |n: u64| n.div_ceil(alignment) * alignment;
    let data_start = align(r.at as u64) as usize;

    let mut out = Vec::with_capacity(bytes.len() + template.len());
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&tensors.to_le_bytes());
    out.extend_from_slice(&(kvs + u64::from(!replaced)).to_le_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(infos);
    out.resize(align(out.len() as u64) as usize, 0);
    out.extend_from_slice(&bytes[data_start..]);
    std::fs::write(to, out).unwrap();
}
