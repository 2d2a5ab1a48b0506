//! The fuzzers' corpora (fuzz/corpus/<target>) replayed as regression tests: every input
//! the fuzzers kept must still go through the decoders without a panic. The fuzz targets
//! themselves (fuzz/fuzz_targets) run with `make fuzz`.

use std::io::Read;
use std::path::Path;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = crate::common::root().join("fuzz/corpus").join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "empty corpus {}", dir.display());
    out
}

#[test]
fn metagraph_corpus() {
    for (name, data) in corpus("metagraph") {
        if let Ok(mut m) = tfreuse::MetaGraph::decode(&data, Path::new(&name)) {
            let _ = m.variables();
            let _ = m.graph_def();
            let keys: Vec<String> = m.def.collection_def.keys().cloned().collect();
            for k in keys {
                let _ = m.collection_value(&k);
            }
            assert!(tfreuse::MetaGraph::decode(&m.encode(), Path::new(&name)).is_ok(), "{name}");
            m.strip_output_shapes();
        }
    }
}

#[test]
fn checkpoint_state_corpus() {
    use tfreuse::model::checkpoint::CheckpointState;
    for (name, data) in corpus("checkpoint_state") {
        if let Ok(text) = std::str::from_utf8(&data) {
            if let Ok(st) = CheckpointState::parse(text, Path::new(&name)) {
                assert_eq!(CheckpointState::parse(&st.to_text(), Path::new(&name)).unwrap(), st, "{name}");
            }
        }
    }
}

#[test]
fn idx_corpus() {
    for (name, data) in corpus("idx") {
        let p = Path::new(&name);
        let _ = tfreuse::data::parse_idx_images(data.clone(), p);
        let _ = tfreuse::data::parse_idx_labels(data.clone(), p);
        let mut out = Vec::new();
        if flate2::read::MultiGzDecoder::new(&data[..]).take(1 << 24).read_to_end(&mut out).is_ok() {
            let _ = tfreuse::data::parse_idx_images(out, p);
        }
    }
}

#[test]
fn npz_corpus() {
    for (name, data) in corpus("npz") {
        let p = Path::new(&name);
        if let Ok(npz) = tfreuse::data::npy::Npz::new(std::io::Cursor::new(data), p) {
            let _ = tfreuse::data::npz_dataset(npz, p);
        }
    }
}

#[test]
fn graphdef_corpus() {
    for (name, data) in corpus("graphdef") {
        let Some((&pick, rest)) = data.split_first() else { continue };
        if let Ok(m) = tfreuse::MetaGraph::from_graph_bytes(rest.to_vec(), pick & 1 == 1, Path::new(&name)) {
            assert!(!m.graph_def().unwrap().node.is_empty(), "{name}");
            assert!(tfreuse::MetaGraph::decode(&m.encode(), Path::new(&name)).is_ok(), "{name}");
        }
    }
}

#[test]
fn savedmodel_corpus() {
    for (name, data) in corpus("savedmodel") {
        if let Ok(m) = tfreuse::MetaGraph::from_saved_model_bytes(&data, "serve", name.clone().into()) {
            assert!(m.resolve_name("X:0").is_ok(), "{name}");
            let _ = m.resolve_name("@x");
            if let Ok(g) = m.graph_def() {
                let _ = tfreuse::graph::trust::Gate::new(Path::new(&name), &g, m.saver_def(), &Default::default());
            }
            assert!(tfreuse::MetaGraph::decode(&m.encode(), Path::new(&name)).is_ok(), "{name}");
        }
    }
}

#[test]
fn picture_corpus() {
    use tfreuse::data::images::{decode_bytes, ImageOptions, Preprocess, ResizeMode};
    let opts = ImageOptions::new(Preprocess { height: 8, width: 6, channels: 3, mode: ResizeMode::Pad });
    let decoded = corpus("picture").into_iter().filter(|(_, data)| decode_bytes(data, &opts).is_ok_and(|px| px.len() == 144)).count();
    assert!(decoded >= 4, "the seed pictures decode");
}

#[test]
fn table_corpus() {
    let parsed =
        corpus("table").into_iter().filter(|(_, d)| tfreuse::data::images::parse_table(d, std::path::Path::new("t.csv")).is_ok()).count();
    assert!(parsed >= 1, "the seed table parses");
}

#[test]
fn segment_corpus() {
    use tfreuse::cache::store::check_segment;
    let counts: Vec<(String, (usize, usize))> = corpus("segment").into_iter().map(|(n, d)| (n, check_segment(&d, 8))).collect();
    let seed = |name: &str, row_len: usize| {
        check_segment(&std::fs::read(crate::common::root().join("fuzz/corpus/segment").join(name)).unwrap(), row_len)
    };
    assert_eq!(seed("sound8", 8), (3, 0), "{counts:?}");
    assert_eq!(seed("damaged2", 2), (2, 1));
    assert_eq!(seed("torn1", 1), (3, 1));
}

#[test]
fn manifest_corpus() {
    use tfreuse::zoo::manifest::parse;
    let parsed: Vec<(String, usize)> =
        corpus("manifest").into_iter().filter_map(|(n, d)| parse(std::str::from_utf8(&d).ok()?, &n).ok().map(|e| (n, e.len()))).collect();
    assert!(parsed.contains(&("one.toml".to_string(), 1)), "the seed parses");
    assert!(parsed.iter().any(|(n, k)| n == "default.toml" && *k >= 2), "the default manifest parses");
}

#[test]
fn archive_corpus() {
    use tfreuse::zoo::archive::{unpack, Kind, Limits};
    let limits = Limits { member: 1 << 20, total: 2 << 20, members: 256 };
    let mut results = std::collections::BTreeMap::new();
    for (name, data) in corpus("archive") {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("d");
        std::fs::create_dir(&dest).unwrap();
        let r = unpack(Kind::sniff(&data), std::io::Cursor::new(&data), &dest, "plain", limits);
        let beside = std::fs::read_dir(tmp.path()).unwrap().count();
        assert_eq!(beside, 1, "{name}: nothing written beside the target");
        results.insert(name, r.map(|files| files.len()));
    }
    assert_eq!(results["ok.tar"], Ok(2), "a file and its hard link (the symlink is no file)");
    assert_eq!(results["ok.zip"], Ok(1));
    assert_eq!(results["plain.pb"], Ok(1));
    for bad in ["slip.tar", "link-out.tar", "dev.tar"] {
        assert!(results[bad].is_err(), "{bad} is refused");
    }
}

#[test]
fn trust_record_corpus() {
    use tfreuse::zoo::trust::{parse, render};
    let mut read = Vec::new();
    for (name, data) in corpus("trust_record") {
        let Ok(text) = std::str::from_utf8(&data) else { continue };
        let Ok(all) = parse(text, Path::new(&name)) else { continue };
        let again = String::from_utf8(render(all.clone()).unwrap()).unwrap();
        assert_eq!(parse(&again, Path::new(&name)).unwrap().len(), all.len(), "{name}");
        read.push(name);
    }
    assert_eq!(read, ["empty.json", "one.json"], "the seeds read, the rest are refused");
}
