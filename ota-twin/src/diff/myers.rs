//! Myers' O(ND) shortest edit script over equality-class ids.

use super::{MYERS_MAX_D, MYERS_WORK_LIMIT};

/// One step of an edit script: keep `x[i]`, delete `x[i]`, insert `y[j]`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Edit {
    Keep(usize),
    Del(usize),
    Ins(usize),
}

const DEAD: isize = isize::MIN / 4;

/// Myers' shortest edit script, or `None` past the work limits.
pub(super) fn myers(a: &[u32], b: &[u32]) -> Option<Vec<Edit>> {
    let n = a.len() as isize;
    let m = b.len() as isize;
    let max_d = MYERS_MAX_D.min(MYERS_WORK_LIMIT / (a.len() + b.len()).max(1));
    let snake = |mut x: isize, mut y: isize| {
        while x < n && y < m && a[x as usize] == b[y as usize] {
            x += 1;
            y += 1;
        }
        x
    };
    // One flat table: row d holds, for the d + 1 diagonals k = -d, -d + 2, ..., d (entry
    // (k + d) / 2), the furthest x on diagonal k after d edits; it starts at d (d + 1) / 2.
    let row = |d: isize| (d * (d + 1) / 2) as usize;
    let mut trace: Vec<isize> = Vec::with_capacity(64);
    trace.push(snake(0, 0));
    let mut found = trace[0] == n && trace[0] == m;
    let mut d: isize = 0;
    while !found {
        d += 1;
        if d as usize > max_d {
            return None;
        }
        let prev = row(d - 1);
        let mut k = -d;
        while k <= d {
            let at = |k: isize| trace[prev + ((k + d - 1) / 2) as usize];
            let x0 = if k == -d || (k != d && at(k - 1) < at(k + 1)) {
                at(k + 1)
            } else {
                at(k - 1) + 1
            };
            // A point off the edit grid is dead: it can never lie on the path to (n, m).
            let x = if x0 < 0 || x0 > n || x0 - k < 0 || x0 - k > m {
                DEAD
            } else {
                snake(x0, x0 - k)
            };
            trace.push(x);
            if x == n && x - k == m {
                found = true;
            }
            k += 2;
        }
    }
    // Backtrack from (n, m).
    let mut edits = Vec::new();
    let (mut x, mut y) = (n, m);
    while d > 0 {
        let prev = row(d - 1);
        let at = |k: isize| trace[prev + ((k + d - 1) / 2) as usize];
        let k = x - y;
        let pk = if k == -d || (k != d && at(k - 1) < at(k + 1)) {
            k + 1
        } else {
            k - 1
        };
        let px = at(pk);
        let py = px - pk;
        while x > px && y > py {
            edits.push(Edit::Keep((x - 1) as usize));
            x -= 1;
            y -= 1;
        }
        if pk == k + 1 {
            edits.push(Edit::Ins(py as usize));
        } else {
            edits.push(Edit::Del(px as usize));
        }
        x = px;
        y = py;
        d -= 1;
    }
    while x > 0 && y > 0 {
        edits.push(Edit::Keep((x - 1) as usize));
        x -= 1;
        y -= 1;
    }
    edits.reverse();
    // Within each run of changes, deletions first, then insertions (the same edit, and the
    // order the emitter relies on).
    let mut out = Vec::with_capacity(edits.len());
    let mut ins = Vec::new();
    for e in edits {
        match e {
            Edit::Ins(_) => ins.push(e),
            Edit::Del(_) => out.push(e),
            Edit::Keep(_) => {
                out.append(&mut ins);
                out.push(e);
            }
        }
    }
    out.append(&mut ins);
    Some(out)
}
