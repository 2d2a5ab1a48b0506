//! TensorFlow's runtime as tfreuse uses it: loading the C library, session settings, tensors of
//! any dtype, and looking tensors and operations up by name. Nothing here knows about models.

pub mod about;
pub mod jit;
pub mod runtime;
pub mod tensors;
internal_mod! {
    names;
    onednn;
    session;
}

pub use jit::Jit;
pub use names::output_name;
internal_use!(names::{find_operation, find_output, op_name, parse_tensor_name});
pub use session::SessionConfig;
