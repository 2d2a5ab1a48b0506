//! `tfreuse run`: feed any tensors from .npy files, fetch any tensors, save them as .npz.

use std::path::PathBuf;

use tfreuse::tf::output_name;
use tfreuse::tf::tensors::{dtype_name, summary, DynArray};
use tfreuse::Error;

use super::headings::{DATA, MODEL};
use super::{Global, ModelArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Feed a tensor from a .npy file (repeatable).
    ///
    /// TENSOR=FILE.npy; the array is cast to the tensor's dtype.
    #[arg(long = "feed", value_name = "TENSOR=FILE")]
    pub feeds: Vec<String>,
    /// Feed --input with the features of a data split (mnist:DIR, npz:FILE or images:DIR).
    #[arg(long, value_name = "SPEC", help_heading = DATA)]
    pub data: Option<String>,
    /// How features become the values fed: S, LO,HI or mean=…,std=…, as train --scale.
    ///
    /// S multiplies (MNIST's raw pixels 0..255 by 1/255 by default, as input_data; an npz's
    /// values by 1); pictures also take LO,HI (e.g. -1,1) or mean=M[,M,M],std=S[,S,S] (per
    /// channel, on values in [0, 1]). Integer inputs get the raw pixels whatever the scale.
    #[arg(long, value_name = "S|LO,HI|mean=…,std=…", requires = "data", allow_hyphen_values = true, help_heading = DATA)]
    pub scale: Option<String>,
    #[command(flatten)]
    pub images: super::ImageArgs,
    /// Split of --data to feed.
    #[arg(long, default_value = "test", requires = "data", help_heading = DATA)]
    pub split: String,
    /// Tensor fed with --data's features [default: X:0, or a zoo model's input].
    #[arg(long, value_name = "TENSOR", help_heading = MODEL)]
    pub input: Option<String>,
    /// Feed a scalar tensor this value in every run, e.g. keep_prob:0=1 (repeatable).
    ///
    /// Cast to the tensor's dtype; true/false for a bool.
    #[arg(long = "set", value_name = "TENSOR=VALUE", help_heading = MODEL)]
    pub set: Vec<String>,
    /// Tensor to fetch (repeatable).
    #[arg(long = "fetch", value_name = "TENSOR", required = true)]
    pub fetches: Vec<String>,
    /// Save the fetched arrays here as .npz.
    ///
    /// Keys are the tensor names; float16 ones are saved as float32.
    #[arg(long, value_name = "FILE.npz")]
    pub out: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub global: Global,
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    // Read and check everything the user gave before the (slow) model load.
    let mut feed_arrays = Vec::new();
    for f in &args.feeds {
        let (name, file) = f.split_once('=').ok_or_else(|| Error::Invalid(format!("--feed {f:?}: expected TENSOR=FILE.npy")))?;
        feed_arrays.push((name.to_string(), tfreuse::data::npy::read_npy(&PathBuf::from(file))?));
    }
    let sets = super::parse_sets("--set", &args.set)?;
    let data = match &args.data {
        Some(spec) => {
            Some(super::load_data(spec, args.scale.as_deref(), &args.images, &args.model, super::input(&args.input), g, false)?.0)
        }
        None => None,
    };
    let split = data.as_ref().map(|d| d.split(&args.split)).transpose()?;
    if let Some(out) = &args.out {
        check_writable(out)?;
    }
    let model = args.model.load_restored(g)?;
    let mut feeds = Vec::new();
    // TF refuses to fetch a fed tensor; such a fetch gets what was fed (the pictures as rows).
    let mut fed: Vec<(String, DynArray)> = Vec::new();
    let asked = |o: &tensorflow::Output| args.fetches.iter().any(|n| model.tensor(n).is_ok_and(|f| output_name(&f) == output_name(o)));
    if let Some(split) = split {
        // The features as the input's dtype wants them (raw pixels for an integer input).
        let x = model.tensor(super::input(&args.input)).map_err(|e| e.for_arg(tfreuse::Role::Input))?;
        let shape = tfreuse::feed::InputShape::of(&model.graph, &x)?;
        let mut row = vec![split.len()];
        row.extend(shape.row_dims(tfreuse::Role::Input, &split.feature_shape)?);
        shape.check_array(tfreuse::Role::Input, &row)?;
        let dtype = tfreuse::tf::tensors::output_dtype(&x);
        let t = split.tensor(0, split.len(), dtype, &row[1..]).map_err(|e| e.for_arg(tfreuse::Role::Input))?;
        if asked(&x) {
            fed.push((output_name(&x), split.rows(0, split.len(), dtype, &row[1..])?));
        }
        feeds.push((x, t));
    }
    for (name, arr) in &feed_arrays {
        let out = model.tensor(name)?;
        let want = tfreuse::tf::tensors::output_dtype(&out);
        tfreuse::feed::InputShape::of(&model.graph, &out)?.check_array(tfreuse::Role::Feed, arr.shape())?;
        let t = if arr.dtype() == want {
            arr.to_tensor()
        } else {
            arr.cast(want).map_err(|e| Error::Invalid(format!("--feed {name}: {e}")))?.to_tensor()
        };
        if asked(&out) {
            fed.push((output_name(&out), arr.cast(want)?));
        }
        feeds.push((out, t));
    }
    for s in tfreuse::feed::Setting::resolve_all(&model.graph, tfreuse::Role::Set, &sets)? {
        if asked(&s.tensor) {
            fed.push((output_name(&s.tensor), s.value.clone()));
        }
        feeds.push((s.tensor, s.value.to_tensor()));
    }
    let fetches = args.fetches.iter().map(|n| model.tensor(n)).collect::<tfreuse::Result<Vec<_>>>()?;
    let values = fetch_values(&model, &fetches, &feeds, &fed)?;
    print_values(&args, &values)?;
    if let Some(out) = &args.out {
        let named: Vec<(String, DynArray)> = args.fetches.iter().cloned().zip(values).collect();
        tfreuse::data::npy::write_npz(out, &named)?;
        eprintln!("saved {} array(s) to {}", named.len(), out.display());
    }
    Ok(())
}

/// One run for the fetches; a fetch of a fed tensor gets its fed value from `fed` instead.
fn fetch_values(
    model: &tfreuse::Model,
    fetches: &[tensorflow::Output],
    feeds: &[(tensorflow::Output, tfreuse::tf::tensors::DynTensor)],
    fed: &[(String, DynArray)],
) -> tfreuse::Result<Vec<DynArray>> {
    let fed_value = |o: &tensorflow::Output| fed.iter().rev().find(|(n, _)| *n == output_name(o)).map(|(_, a)| a.clone());
    let to_run: Vec<_> = fetches.iter().filter(|o| fed_value(o).is_none()).cloned().collect();
    let feed_refs: Vec<_> = feeds.iter().map(|(o, t)| (o.clone(), t)).collect();
    let ran = if to_run.is_empty() { vec![] } else { model.run(&feed_refs, &to_run, &[])? };
    let mut ran = ran.into_iter();
    Ok(fetches.iter().map(|o| fed_value(o).or_else(|| ran.next()).expect("one value per fetch")).collect())
}

fn print_values(args: &Args, values: &[DynArray]) -> anyhow::Result<()> {
    if args.json {
        let items: Vec<_> = args
            .fetches
            .iter()
            .zip(values)
            .map(|(n, v)| serde_json::json!({"name": n, "dtype": dtype_name(v.dtype()), "shape": v.shape(), "summary": summary(v)}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
    } else {
        for (n, v) in args.fetches.iter().zip(values) {
            println!("{n}: {} {:?} {}", dtype_name(v.dtype()), v.shape(), summary(v));
        }
    }
    Ok(())
}

fn check_writable(out: &std::path::Path) -> tfreuse::Result<()> {
    let dir = tfreuse::atomic::parent_dir(out);
    if !dir.is_dir() {
        return Err(Error::Invalid(format!("--out {}: directory {} does not exist", out.display(), dir.display())));
    }
    Ok(())
}
