//! placeholder
use super::{ExportError, ExportFile, Losses, Settings};
use crate::plan::Plan;

/// Exports.
pub fn export(
    _plan: &Plan,
    _settings: &Settings,
    _losses: &mut Losses,
) -> Result<Vec<ExportFile>, ExportError> {
    Ok(Vec::new())
}
