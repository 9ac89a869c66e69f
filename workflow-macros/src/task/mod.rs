//! `#[task]`: parse the attribute and the function, check that the runtime can serve it, and
//! generate the `Task` implementation beside the untouched function.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::diag::Diagnostics;

pub use parse::is_pool_name;

/// The whole `#[task]` macro over `proc_macro2` tokens: never panics; errors become
/// `compile_error!`s next to the re-emitted function. `location` identifies the attribute in
/// its file (line × 10,000 + column), so that each task's hidden struct lives in a module of
/// its own.
pub fn expand(attribute: TokenStream, item: TokenStream, location: u64) -> TokenStream {
    let mut diagnostics = Diagnostics::new();
    let function: parse::TaskFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(error) => {
            let error = syn::Error::new(
                error.span(),
                "`#[task]` goes on a function: `#[task] fn name(input: Type) -> Output { ... }`",
            );
            let mut output = item;
            output.extend(error.to_compile_error());
            return output;
        }
    };
    let options = parse::options(attribute, &mut diagnostics);
    let mut signature = validate::signature(&function, &mut diagnostics);
    if let Some(error) = crate::names::shadows_primitive(&function.sig.ident, "task") {
        diagnostics.push(error);
        signature = None;
    }
    if options.command && matches!(function.sig.output, syn::ReturnType::Default) {
        let name = &function.sig.ident;
        diagnostics.error(
            name.span(),
            format!("command task `{name}` must return the command to run: `fn {name}(...) -> Command {{ Command::new(\"program\").arg(...) }}`"),
        );
        signature = None;
    }
    // The function as written: its own tokens, not a reprint of the parsed tree.
    let mut output = item;
    if let Some(signature) = signature {
        output.extend(expand::task(&function, &options, &signature, location));
    }
    output.extend(diagnostics.to_compile_errors());
    output
}
