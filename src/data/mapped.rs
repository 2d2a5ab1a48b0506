//! Rows that live in files mapped into memory (a feature cache on disk): training reads them
//! through the page cache, so a cache larger than RAM still trains. The files are written
//! once, renamed into place and never changed (only removed), which is what makes mapping
//! them sound.

use std::sync::Arc;

use memmap2::Mmap;

/// Rows of `row_len` little-endian f32 each, at byte offsets into shared maps.
#[derive(Clone)]
pub struct MappedRows {
    maps: Arc<Vec<Mmap>>,
    /// (map, byte offset) of each row.
    rows: Vec<(u32, usize)>,
    row_len: usize,
}

impl MappedRows {
    pub fn new(maps: Arc<Vec<Mmap>>, rows: Vec<(u32, usize)>, row_len: usize) -> Self {
        MappedRows { maps, rows, row_len }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn row_len(&self) -> usize {
        self.row_len
    }

    /// Row `i` into `dst` (`row_len` floats).
    pub fn copy_row(&self, i: usize, dst: &mut [f32]) {
        let (map, off) = self.rows[i];
        let bytes = &self.maps[map as usize][off..off + self.row_len * 4];
        for (d, b) in dst.iter_mut().zip(bytes.chunks_exact(4)) {
            *d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }

    /// The rows `idx`, in that order.
    pub fn gather(&self, idx: &[usize]) -> Self {
        MappedRows { maps: self.maps.clone(), rows: idx.iter().map(|&i| self.rows[i]).collect(), row_len: self.row_len }
    }

    /// Bytes the rows take in their files.
    pub fn bytes(&self) -> usize {
        self.rows.len() * self.row_len * 4
    }
}

impl std::fmt::Debug for MappedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MappedRows({} rows of {} in {} files)", self.rows.len(), self.row_len, self.maps.len())
    }
}

impl PartialEq for MappedRows {
    fn eq(&self, other: &Self) -> bool {
        self.row_len == other.row_len && self.rows.len() == other.rows.len() && {
            let (mut a, mut b) = (vec![0f32; self.row_len], vec![0f32; self.row_len]);
            (0..self.rows.len()).all(|i| {
                self.copy_row(i, &mut a);
                other.copy_row(i, &mut b);
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits())
            })
        }
    }
}
