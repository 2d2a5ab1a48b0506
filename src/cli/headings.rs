//! The headings `--help` groups flags under, by concern, so that `train --help` reads as
//! model, data, recipe, schedule, output, performance, cluster, security, then the global options.

pub const MODEL: &str = "Model";
pub const DATA: &str = "Data";
pub const RECIPE: &str = "Recipe";
pub const SCHEDULE: &str = "Schedule";
pub const OUTPUT: &str = "Output";
pub const PERFORMANCE: &str = "Performance";
pub const CLUSTER: &str = "Cluster";
pub const SECURITY: &str = "Security";
pub const GLOBAL: &str = "Global options";
