//! Which functions the runtime can serve as tasks: owned, named inputs that can be sent between
//! processes, and one owned output.

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, GenericArgument, Ident, Pat, PathArguments, ReturnType, Type};

use super::parse::TaskFn;

use crate::MAX_INPUTS;
use crate::diag::Diagnostics;

pub struct Signature {
    pub inputs: Vec<(Ident, Type)>,
    /// What the task produces: `T` for `-> T` and for `-> Result<T, E>`.
    pub output: Type,
    /// The whole return type, when it is a `Result`.
    pub result: Option<Type>,
}

/// The signature as the runtime sees it, or `None` after reporting why it cannot serve it.
pub fn signature(function: &TaskFn, diagnostics: &mut Diagnostics) -> Option<Signature> {
    let mut problems = Diagnostics::new();
    let signature = &function.sig;
    let name = &signature.ident;
    if let Some(asyncness) = &signature.asyncness {
        problems.error(asyncness.span(), format!("task `{name}` cannot be `async`: tasks are plain functions that the runner calls on worker threads; block inside the function instead"));
    }
    if let Some(unsafety) = &signature.unsafety {
        problems.error(unsafety.span(), format!("task `{name}` cannot be `unsafe`: the runner calls tasks without knowing their safety contract; make it a safe function that uses `unsafe` inside"));
    }
    if let Some(variadic) = &signature.variadic {
        problems.error(variadic.span(), format!("task `{name}` cannot be variadic"));
    }
    if !signature.generics.params.is_empty() {
        problems.error(signature.generics.params.span(), format!("task `{name}` cannot be generic: a workflow needs one concrete type per input and output; write a task per type, each calling a generic helper"));
    } else if let Some(clause) = &signature.generics.where_clause {
        problems.error(
            clause.span(),
            format!("task `{name}` cannot have a `where` clause"),
        );
    }
    let mut inputs = Vec::new();
    for argument in &signature.inputs {
        match argument {
            FnArg::Receiver(receiver) => problems.error(receiver.span(), format!("task `{name}` cannot take `self`: a task is a free function; move it out of the `impl` block and pass what it needs as inputs")),
            FnArg::Typed(typed) => {
                let input = match &*typed.pat {
                    Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => Some(ident.ident.clone()),
                    other => {
                        problems.error(other.span(), format!("task `{name}` must name each input with a plain identifier, so that plans and other engines can refer to it; destructure inside the function"));
                        None
                    }
                };
                let owned = check_owned(&typed.ty, &mut problems, &format!("input of task `{name}`"));
                if let (Some(input), true) = (input, owned) {
                    inputs.push((input, (*typed.ty).clone()));
                }
            }
        }
    }
    if signature.inputs.len() > MAX_INPUTS {
        problems.error(signature.inputs.span(), format!("task `{name}` takes {} inputs; tasks take at most {MAX_INPUTS}: group related inputs in a struct", signature.inputs.len()));
    }
    let (output, result) = match &signature.output {
        ReturnType::Default => (syn::parse_quote!(()), None),
        ReturnType::Type(_, ty) => {
            if check_owned(ty, &mut problems, &format!("output of task `{name}`")) {
                match result_value(ty) {
                    Some(value) => (value, Some((**ty).clone())),
                    None => ((**ty).clone(), None),
                }
            } else {
                (syn::parse_quote!(()), None)
            }
        }
    };
    let failed = !problems.is_empty();
    if failed {
        diagnostics.push_all(problems);
    }
    (!failed).then_some(Signature {
        inputs,
        output,
        result,
    })
}

/// Rejects types the runtime cannot hand over between processes; returns whether `ty` is fine.
fn check_owned(ty: &Type, problems: &mut Diagnostics, what: &str) -> bool {
    struct Borrowed<'a> {
        problems: &'a mut Diagnostics,
        what: &'a str,
        ok: bool,
    }
    impl<'ast> Visit<'ast> for Borrowed<'_> {
        fn visit_type_reference(&mut self, reference: &'ast syn::TypeReference) {
            self.ok = false;
            self.problems.error(reference.span(), format!("{} cannot be borrowed: tasks receive and return owned values that can be sent between processes; use `{}` instead", self.what, owned(&reference.elem)));
        }
        fn visit_type_impl_trait(&mut self, impl_trait: &'ast syn::TypeImplTrait) {
            self.ok = false;
            self.problems.error(
                impl_trait.span(),
                format!(
                    "{} cannot be `impl Trait`: workflows need its concrete type",
                    self.what
                ),
            );
        }
        fn visit_type_infer(&mut self, infer: &'ast syn::TypeInfer) {
            self.ok = false;
            self.problems.error(
                infer.span(),
                format!("{} must have a concrete type", self.what),
            );
        }
        fn visit_type_ptr(&mut self, pointer: &'ast syn::TypePtr) {
            self.ok = false;
            self.problems.error(
                pointer.span(),
                format!("{} cannot be a raw pointer", self.what),
            );
        }
        fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
            self.ok = false;
            self.problems.error(
                lifetime.span(),
                format!(
                    "{} cannot hold a borrow (`{lifetime}`): task values must be owned",
                    self.what
                ),
            );
        }
        fn visit_type_macro(&mut self, type_macro: &'ast syn::TypeMacro) {
            // Its expansion is unknown here; the type checker sees it.
            let _ = type_macro;
        }
    }
    let mut visitor = Borrowed {
        problems,
        what,
        ok: true,
    };
    visitor.visit_type(ty);
    visitor.ok
}

/// The owned counterpart of a borrowed type, as a suggestion: `str` → `String`, `[T]` →
/// `Vec<T>`, `Path` → `PathBuf`, anything else as it is.
fn owned(borrowed: &Type) -> String {
    match borrowed {
        Type::Slice(slice) => format!("Vec<{}>", crate::names::token_text(&slice.elem)),
        Type::Path(path) if path.path.is_ident("str") => "String".to_owned(),
        Type::Path(path)
            if path
                .path
                .segments
                .last()
                .is_some_and(|last| last.ident == "Path") =>
        {
            "PathBuf".to_owned()
        }
        other => crate::names::token_text(other),
    }
}

/// Whether `ty` reads `Result<T, Box<dyn ...>>`: Rust gives a boxed `dyn Error` no `Error`
/// impl, so the task keeps its message instead of converting it.
pub fn boxed_error(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return false;
    };
    let Some(GenericArgument::Type(Type::Path(error))) = arguments.args.iter().nth(1) else {
        return false;
    };
    let Some(boxed) = error.path.segments.last() else {
        return false;
    };
    let PathArguments::AngleBracketed(inner) = &boxed.arguments else {
        return false;
    };
    boxed.ident == "Box"
        && matches!(
            inner.args.first(),
            Some(GenericArgument::Type(Type::TraitObject(_)))
        )
}

/// `T` when `ty` reads `Result<T, ..>` (any path ending in `Result`, such as `io::Result<T>`).
fn result_value(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    match arguments.args.first()? {
        GenericArgument::Type(value) => Some(value.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(function: syn::ItemFn) -> (Option<Signature>, Vec<String>) {
        let function: TaskFn = syn::parse2(quote::ToTokens::to_token_stream(&function)).unwrap();
        let mut diagnostics = Diagnostics::new();
        let signature = signature(&function, &mut diagnostics);
        (signature, diagnostics.messages())
    }

    #[test]
    fn plain_and_fallible_outputs() {
        let (signature, errors) = check(syn::parse_quote!(
            fn f(day: NaiveDate, mut n: u32) -> io::Result<Orders> {
                todo!()
            }
        ));
        assert!(errors.is_empty());
        let signature = signature.unwrap();
        assert_eq!(signature.inputs.len(), 2);
        assert_eq!(crate::names::token_text(&signature.output), "Orders");
        assert!(signature.result.is_some());
        let (signature, _) = check(syn::parse_quote!(
            fn f() {}
        ));
        assert_eq!(crate::names::token_text(&signature.unwrap().output), "()");
    }

    #[test]
    fn every_problem_is_reported() {
        let (signature, errors) = check(syn::parse_quote!(
            async fn f<T>(&self, (a, b): (u8, u8), c: &str, d: Cow<'static, str>) -> impl Display {}
        ));
        assert!(signature.is_none());
        assert_eq!(errors.len(), 7, "{errors:#?}");
    }
}
