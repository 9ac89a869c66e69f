//! The `Task` implementation for a checked function.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::parse::Options;
use super::validate::Signature;
use crate::names::{doc_text, token_text};

pub fn task(
    function: &super::parse::TaskFn,
    options: &Options,
    signature: &Signature,
    location: u64,
) -> TokenStream {
    let ident = &function.sig.ident;
    let ident_text = crate::names::text(ident);
    // As written in a Rust path: `r#type` keeps its `r#`.
    let path_text = ident.to_string();
    let visibility = &function.vis;
    let name = options
        .name
        .clone()
        .unwrap_or_else(|| crate::names::text(ident));
    let description = doc_text(&function.attrs);
    // A command task's function returns the command; the task outputs what the command printed.
    let command_output: syn::Type = syn::parse_quote!(::workflow_core::command::CommandOutput);
    let returned = signature.result.as_ref().unwrap_or(&signature.output);
    let output = if options.command {
        &command_output
    } else {
        &signature.output
    };
    let output_text = if options.command {
        "CommandOutput".to_owned()
    } else {
        token_text(output)
    };
    let input_types: Vec<_> = signature.inputs.iter().map(|(_, ty)| ty).collect();
    let input_specs = signature.inputs.iter().map(|(input, ty)| {
        let input = crate::names::text(input);
        let ty = token_text(ty);
        quote!(::workflow_core::InputSpec { name: #input, ty: #ty })
    });
    let locals: Vec<_> = (0..signature.inputs.len())
        .map(|index| {
            format_ident!(
                "__workflow_input_{}",
                index,
                span = proc_macro2::Span::mixed_site()
            )
        })
        .collect();
    let call = quote!(#ident(#(#locals),*));
    let returned_value = format_ident!(
        "__workflow_returned",
        span = proc_macro2::Span::mixed_site()
    );
    let finish = match &signature.result {
        _ if options.command => {
            quote_spanned!(returned.span()=> ::workflow_core::command::run_task::<#returned>(#returned_value))
        }
        Some(result) if super::validate::boxed_error(returned) => {
            quote_spanned!(result.span()=> #returned_value.map_err(|__workflow_error| ::workflow_core::TaskError::new(::std::string::ToString::to_string(&__workflow_error))))
        }
        Some(result) => {
            quote_spanned!(result.span()=> <#result as ::workflow_core::__private::IntoTaskResult<#output>>::into_task_result(#returned_value))
        }
        None => quote!(::core::result::Result::Ok(#returned_value)),
    };
    let fallible = options.command || signature.result.is_some();
    let kind = if options.command {
        quote!(::workflow_core::TaskKind::Command)
    } else {
        quote!(::workflow_core::TaskKind::Function)
    };
    // The policy names only what the attribute sets; the rest is the default policy.
    let duration = |value: std::time::Duration| {
        let seconds = value.as_secs();
        quote!(::core::option::Option::Some(::core::time::Duration::from_secs(#seconds)))
    };
    let mut policy = Vec::new();
    if options.retries != 0 {
        let retries = options.retries;
        policy.push(quote!(retries: #retries));
    }
    if let Some(delay) = options.retry_delay {
        let delay = duration(delay);
        policy.push(quote!(retry_delay: #delay));
    }
    if options.exponential {
        policy.push(quote!(backoff: ::workflow_core::Backoff::Exponential));
    }
    if let Some(delay) = options.max_retry_delay {
        let delay = duration(delay);
        policy.push(quote!(max_retry_delay: #delay));
    }
    if let Some(cpu) = options.cpu_millis {
        policy.push(quote!(cpu_millis: ::core::option::Option::Some(#cpu)));
    }
    if let Some(bytes) = options.memory_bytes {
        policy.push(quote!(memory_bytes: ::core::option::Option::Some(#bytes)));
    }
    if let Some(timeout) = options.timeout {
        let timeout = duration(timeout);
        policy.push(quote!(timeout: #timeout));
    }
    if let Some(pool) = &options.pool {
        policy.push(quote!(pool: ::core::option::Option::Some(#pool)));
    }
    let policy = if policy.is_empty() {
        quote!(::workflow_core::__private::defaults::TASK_POLICY)
    } else {
        quote!(::workflow_core::TaskPolicy { #(#policy,)* ..::workflow_core::__private::defaults::TASK_POLICY })
    };
    // Each input is decoded, and the output encoded, at the user's type: "cannot flow between
    // tasks" points at that type, once (and never at the nodes that run the task).
    let count = input_types.len();
    let decoders = input_types.iter().map(|ty| {
        quote_spanned!(ty.span()=> <#ty as ::workflow_core::__private::FlowsBetweenTasks>::decode_input)
    });
    let encoder = quote_spanned!(output.span()=> <#output as ::workflow_core::__private::FlowsBetweenTasks>::encode_output);
    let call_json = format_ident!("call_json_{}", count);
    // The struct `workflow!` names the task by: generic over where the attribute is, so that a
    // function pasted twice in one module does not add a conflicting `Task` impl to the
    // "defined multiple times" errors.
    let location = proc_macro2::Literal::u64_unsuffixed(location);
    let structure = quote_spanned!(ident.span()=> struct #ident<const __AT: u64 = #location> {});
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #visibility #structure

        // Every spec literal ends with `..defaults`, needed or not.
        #[allow(clippy::needless_update)]
        const _: () = {
            impl ::core::fmt::Debug for #ident<#location> {
                fn fmt(&self, __workflow_formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    __workflow_formatter.write_str(#ident_text)
                }
            }

            impl ::workflow_core::Task for #ident<#location> {
                type Inputs = (#(#input_types,)*);
                type Output = #output;
                type Returns = #returned;
                const SPEC: ::workflow_core::TaskSpec = ::workflow_core::TaskSpec {
                    name: #name,
                    rust_path: ::core::concat!(::core::module_path!(), "::", #path_text),
                    description: #description,
                    inputs: &[#(#input_specs),*],
                    output: #output_text,
                    fallible: #fallible,
                    kind: #kind,
                    policy: #policy,
                    ..::workflow_core::__private::defaults::TASK_SPEC
                };
                fn call(__workflow_inputs: Self::Inputs) -> ::core::result::Result<Self::Output, ::workflow_core::TaskError> {
                    let (#(#locals,)*) = __workflow_inputs;
                    <Self as ::workflow_core::Task>::finish(#call)
                }
                fn finish(#returned_value: Self::Returns) -> ::core::result::Result<Self::Output, ::workflow_core::TaskError> {
                    #finish
                }
                fn call_json(__workflow_json: ::std::vec::Vec<::workflow_core::__private::serde_json::Value>) -> ::core::result::Result<::workflow_core::__private::serde_json::Value, ::workflow_core::TaskError> {
                    ::workflow_core::__private::#call_json::<Self, #(#input_types),*>(__workflow_json, #(#decoders,)* #encoder)
                }
            }
        };
    }
}
