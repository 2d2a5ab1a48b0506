//! TF-Slim's image classifiers by name (`inception_v3`, `resnet_v1_50`, …): the graphs
//! TF-Slim itself built once (`python/make_slim.py`, in inference mode, no weights), carried
//! in the binary gzip'd, with their end points, default picture size and preprocessing. A
//! checkpoint of TF-Slim's model zoo, which has no `.meta`, restores into them.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::error::{Error, Result, Role};

/// One architecture as `python/make_slim.py` recorded it.
#[derive(Clone, Debug, Deserialize)]
pub struct Arch {
    /// The name TF-Slim's `nets_factory` gives it, filled from the index key.
    #[serde(skip)]
    pub name: String,
    /// The variable scope every op is under (`InceptionV3`, `resnet_v1_50`).
    pub scope: String,
    /// Classes of the published checkpoint (1001 with a background class, or 1000).
    pub num_classes: usize,
    /// The picture side the net was trained at.
    pub size: usize,
    /// Whether the placeholder takes any height and width (the logits may still need `size`).
    pub free_size: bool,
    scale: Preprocess,
    /// The placeholder fed with pictures, `input:0`.
    pub input: String,
    /// The logits tensor.
    pub logits: String,
    /// TF-Slim's end point names (`InceptionV3/Mixed_7c`) to tensor names.
    pub end_points: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize)]
struct Preprocess {
    kind: String,
    values: Vec<f32>,
}

static INDEX: &str = include_str!("graphs/index.json");

/// The gzip'd MetaGraphDef of each architecture.
static GRAPHS: &[(&str, &[u8])] = &[
    ("inception_v1", include_bytes!("graphs/inception_v1.meta.gz")),
    ("inception_v3", include_bytes!("graphs/inception_v3.meta.gz")),
    ("resnet_v1_50", include_bytes!("graphs/resnet_v1_50.meta.gz")),
    ("resnet_v1_101", include_bytes!("graphs/resnet_v1_101.meta.gz")),
    ("resnet_v2_50", include_bytes!("graphs/resnet_v2_50.meta.gz")),
    ("vgg_16", include_bytes!("graphs/vgg_16.meta.gz")),
];

fn index() -> &'static BTreeMap<String, Arch> {
    static PARSED: OnceLock<BTreeMap<String, Arch>> = OnceLock::new();
    PARSED.get_or_init(|| {
        let mut all: BTreeMap<String, Arch> = serde_json::from_str(INDEX).expect("src/slim/graphs/index.json is valid");
        all.iter_mut().for_each(|(k, a)| a.name = k.clone());
        all
    })
}

/// The names of every architecture, sorted.
pub fn names() -> Vec<&'static str> {
    index().keys().map(String::as_str).collect()
}

impl Arch {
    /// The architecture called `name`, or an error listing those known.
    pub fn named(name: &str) -> Result<&'static Arch> {
        index().get(name).ok_or_else(|| {
            Error::arg(Role::Arch, Some(name), format!("not a TF-Slim architecture tfreuse knows (known: {})", names().join(", ")))
        })
    }

    /// The MetaGraphDef's bytes, unzipped.
    pub fn meta_graph_bytes(&self) -> Result<Vec<u8>> {
        let (_, gz) = GRAPHS.iter().find(|(n, _)| *n == self.name).expect("every indexed architecture has a graph");
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(*gz)
            .read_to_end(&mut out)
            .map_err(|e| Error::Invalid(format!("the built-in graph of {} is damaged: {e}", self.name)))?;
        Ok(out)
    }

    /// The tensor an end point stands for, given as TF-Slim names it, with or without `:0`.
    pub fn end_point(&self, name: &str) -> Option<&str> {
        let bare = name.strip_suffix(":0").unwrap_or(name);
        self.end_points.get(bare).map(String::as_str)
    }

    /// TF-Slim's preprocessing as `--scale` takes it: `-1,1` (Inception's), or the ImageNet
    /// channel means in 0–255 subtracted (VGG's; written on values in [0, 1], so the float
    /// result may differ from TF-Slim's in the last bits).
    pub fn scale_spec(&self) -> String {
        let v = &self.scale.values;
        match self.scale.kind.as_str() {
            "range" => format!("{},{}", v[0], v[1]),
            _ => {
                let means: Vec<String> = v.iter().map(|m| (m / 255.0).to_string()).collect();
                let std = (1.0f32 / 255.0).to_string();
                format!("mean={},std={std},{std},{std}", means.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_architecture_has_its_graph_and_end_points() {
        assert_eq!(names(), ["inception_v1", "inception_v3", "resnet_v1_101", "resnet_v1_50", "resnet_v2_50", "vgg_16"]);
        for name in names() {
            let a = Arch::named(name).unwrap();
            assert!(a.meta_graph_bytes().unwrap().len() > 10_000, "{name}");
            assert!(a.end_points.len() > 10, "{name}");
        }
        let v3 = Arch::named("inception_v3").unwrap();
        assert_eq!(v3.end_point("InceptionV3/Mixed_7c:0"), Some("InceptionV3/InceptionV3/Mixed_7c/concat:0"));
        assert_eq!(v3.end_point("Mixed_7c"), None);
        assert_eq!(
            Arch::named("resnet_v1_50").unwrap().end_point("resnet_v1_50/block4"),
            Some("resnet_v1_50/block4/unit_3/bottleneck_v1/Relu:0")
        );
        assert_eq!(v3.scale_spec(), "-1,1");
        assert!(Arch::named("vgg_16").unwrap().scale_spec().starts_with("mean=0.48"));
        let e = Arch::named("inception_v4").unwrap_err().to_string();
        assert!(e.contains("inception_v1, inception_v3") && !e.contains('\n'), "{e}");
    }
}
