//! Evaluate the book's MNIST model (chapter 11's `my_model_final.ckpt`) on the test split, as
//! `accuracy.eval(feed_dict={X: X_test, y: y_test})` does after `import_meta_graph` + `restore`.
//!
//! `cargo run --release --example evaluate [META] [MNIST_DIR]` (defaults: the fixture, data/mnist).

use tfreuse::data::Mnist;
use tfreuse::{Runtime, Source};

fn main() -> tfreuse::Result<()> {
    let mut args = std::env::args().skip(1);
    let meta = args.next().unwrap_or_else(|| "fixtures/mnist_dnn/my_model_final.ckpt.meta".into());
    let mnist = args.next().unwrap_or_else(|| "data/mnist".into());
    let tf = Runtime::load(Default::default())?;
    let model = tf.open(Source::meta(meta))?;
    let mnist = Mnist::open(mnist)?;
    for (name, value) in model.evaluate(mnist.test()?, &["eval/accuracy:0", "loss/loss:0"])? {
        println!("{name} = {value:.9}");
    }
    Ok(())
}
