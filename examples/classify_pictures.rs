//! Classify pictures with a model tfreuse trained on a picture folder (`tfreuse train --data
//! images:DIR … --out PREFIX`): each picture is fitted and scaled as the training pictures
//! were, from the record saved beside the checkpoint.
//!
//! `cargo run --release --example classify_pictures -- PREFIX.meta FILE_OR_DIR…`

use tfreuse::predict::picture_files;
use tfreuse::predict::Classifier;
use tfreuse::{Runtime, Source};

fn main() -> tfreuse::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [meta, paths @ ..] = &args[..] else {
        eprintln!("usage: classify_pictures MODEL.meta FILE_OR_DIR…");
        std::process::exit(2);
    };
    let tf = Runtime::load(Default::default())?;
    let model = tf.open(Source::meta(meta))?;
    let classifier = Classifier::new(&model)?;
    let files = picture_files(&paths.iter().map(Into::into).collect::<Vec<_>>())?;
    for (file, prediction) in files.iter().zip(classifier.classify(&files, 1)?) {
        match prediction {
            Ok(top) => println!("{}\t{}\t{:.4}", file.display(), classifier.label(top[0].0), top[0].1),
            Err(why) => println!("{}\terror: {why}", file.display()),
        }
    }
    Ok(())
}
