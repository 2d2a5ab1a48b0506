//! The book's transfer recipe: new layers on `dnn/hidden4/Relu:0` of the MNIST model, the two
//! lowest hidden layers frozen and computed once (cached), Adam; then saved as a TF1
//! checkpoint that Python's `import_meta_graph` + `restore` read back.
//!
//! `cargo run --release --example transfer [OUT_PREFIX] [EPOCHS]` (defaults: runs/example.ckpt, 2).

use tfreuse::data::Mnist;
use tfreuse::{Adam, Dense, Event, Runtime, Schedule, Source, Transfer};

fn main() -> tfreuse::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "runs/example.ckpt".into());
    let epochs = args.next().map_or(2, |e| e.parse().expect("EPOCHS is a number"));
    let tf = Runtime::load(Default::default())?;
    let model = tf.open(Source::meta("fixtures/mnist_dnn/my_model_final.ckpt.meta"))?;
    let mnist = Mnist::open("data/mnist")?;
    let mut job = Transfer::new(&model)
        .branch_from("dnn/hidden4/Relu:0")
        .layer(Dense::new(20).relu())
        .layer(Dense::new(10))
        .freeze_below("dnn/hidden2/Relu:0")
        .cache_frozen()
        .optimizer(Adam::default())
        .learning_rate(0.001)
        .prepare(&mnist)?;
    job.fit(Schedule::epochs(epochs), &mut |e: &Event| match e {
        Event::Epoch { epoch, train_loss, metric, .. } => println!("epoch {epoch}: train loss {train_loss:.4}, validation {metric:.4?}"),
        Event::Test { loss, metric, .. } => println!("test: loss {loss:.4}, accuracy {metric:.4?}"),
        _ => {}
    })?;
    job.save(&out)?;
    println!("saved {out}");
    Ok(())
}
