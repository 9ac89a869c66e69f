//! Code for a checked workflow: the struct, the wiring checks the type checker runs, the spec
//! and the registration. Raises no errors itself.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Expr, Ident, Lit};

use super::graph::Resolution;
use super::options::{
    Cadence, CatchUp, FailureAction, Notify, Options, Overlap, PartitionSize, SecretSource, Trigger,
};
use super::parse::{Argument, BranchKind, Workflow};
use crate::names::{doc_text, relocate, token_text};

/// The workflow's struct and a spec with no nodes: emitted when the declaration has errors, so
/// that code naming the workflow elsewhere reports nothing more.
pub fn stub(workflow: &Workflow) -> TokenStream {
    let header = header(workflow);
    let name = &workflow.name;
    let name_text = crate::names::text(name);
    let path_text = name.to_string();
    let doc = doc_text(&workflow.attributes);
    let spec = quote! {
        ::workflow_core::WorkflowSpec {
            name: #name_text,
            doc: #doc,
            rust_path: ::core::concat!(::core::module_path!(), "::", #path_text),
            ..::workflow_core::__private::defaults::workflow()
        }
    };
    let self_ty = self_ty(workflow);
    quote! {
        #header
        // Every spec literal ends with `..defaults`, needed or not.
        #[allow(clippy::needless_update)]
        const _: () = {
            impl ::workflow_core::Workflow for #self_ty {
                const NAME: &'static str = ::core::stringify!(#name);
                fn spec() -> ::workflow_core::WorkflowSpec { #spec }
            }
        };
    }
}

/// The checked workflow's code, from what [`super::graph::check`] resolved: every reference is
/// looked up in `resolution`, none resolved again here.
/// The checked workflow's code, from what [`super::graph::check`] resolved: every reference is
/// looked up in `resolution`, none resolved again here.
pub fn workflow(workflow: &Workflow, options: &Options, resolution: &Resolution) -> TokenStream {
    let cx = Context {
        workflow,
        options,
        resolution,
        name_text: crate::names::text(&workflow.name),
        params: workflow
            .params
            .iter()
            .map(|param| (crate::names::text(&param.name), &param.ty))
            .collect(),
        ids: super::graph::node_ids(workflow),
    };
    let mut out = Output::default();
    param_aliases(&cx, &mut out);
    pool_checks(&cx, &mut out);
    nodes(&cx, &mut out);
    merges(&cx, &mut out);
    branches(&cx, &mut out);
    sub_workflow(&cx, &mut out);
    partition_check(&cx, &mut out);
    param_specs(&cx, &mut out);
    let Output {
        items,
        checks,
        handles,
        node_specs,
        merges,
        branch_specs,
        returns,
        workflow_task,
        param_specs,
        ..
    } = out;
    let returns = returns.unwrap_or_else(|| quote!(::core::option::Option::None));
    let header = header(workflow);
    let self_ty = self_ty(workflow);
    let name_text = cx.name_text.as_str();
    let spec = spec_value(
        workflow,
        quote!(::std::vec![#(#param_specs),*]),
        quote!(::std::vec![#(#node_specs),*]),
        operations(options),
        secrets(options),
        quote!(branches: ::std::vec![#(#branch_specs),*], merges: ::std::vec![#(#merges),*], returns: #returns,),
    );
    quote! {
        #header
        #workflow_task
        // Every spec literal ends with `..defaults`, needed or not.
        #[allow(clippy::needless_update)]
        const _: () = {
            #items

            impl #self_ty {
                #handles
            }

            #[allow(clippy::let_unit_value)]
            fn __workflow_wiring() {
                #checks
            }

            impl ::workflow_core::Workflow for #self_ty {
                const NAME: &'static str = #name_text;
                fn spec() -> ::workflow_core::WorkflowSpec { #spec }
            }

            ::workflow_core::__private::inventory::submit! {
                ::workflow_core::__private::Registration { spec: <#self_ty as ::workflow_core::Workflow>::spec }
            }
        };
    }
}

/// What every part of a checked workflow's expansion reads.
struct Context<'a> {
    workflow: &'a Workflow,
    options: &'a Options,
    /// What each reference names, from [`super::graph::check`].
    resolution: &'a Resolution,
    /// The workflow's name, without `r#`.
    name_text: String,
    /// The parameters by name, with their declared types.
    params: BTreeMap<String, &'a syn::Type>,
    /// Each node's id in the plan, by statement.
    ids: Vec<String>,
}

impl Context<'_> {
    /// What node `index` produces, located at `span`: its task's output, or a `Vec` of them
    /// for a node that maps over `each(...)` of an input.
    fn output_of(&self, index: usize, span: Span) -> TokenStream {
        let statement = self.workflow.statements.get(index);
        let task_span = statement.map_or(span, |statement| {
            syn::spanned::Spanned::span(&statement.task)
        });
        let alias = task_alias(index, task_span);
        let output = quote_spanned!(span=> <#alias as ::workflow_core::Task>::Output);
        match statement.and_then(mapped_input) {
            Some(_) => quote_spanned!(span=> ::std::vec::Vec<#output>),
            None => output,
        }
    }

    /// The type of a reference to `nodes` at `span`: a node's output; for a name merged from
    /// several arms, the first arm's output passed through each later arm's same-type check,
    /// so arms that disagree are reported once, at the arm, and not again where it is used.
    fn value_of(&self, key: &str, nodes: &[usize], span: Span) -> TokenStream {
        let (first, merged) = Resolution::one(nodes);
        let mut value = self.output_of(first, span);
        if merged {
            for &other in nodes.iter().skip(1) {
                let at = self.workflow.statements[other]
                    .node_name()
                    .map_or(span, |name| name.span());
                let check = same_type(key, other);
                let this = self.output_of(other, at);
                value = quote_spanned!(at=> <#this as #check<#value>>::Merged);
            }
            // Named once more at the use, so that a mismatch there is reported there.
            value = quote_spanned!(span=> <#value as ::workflow_core::__private::Same>::Type);
        }
        value
    }

    /// The declared type of parameter `key`, named at `span` through its alias (see
    /// [`param_aliases`]): a type that does not resolve is reported once, at the declaration,
    /// and not again at each use.
    fn param_type(&self, key: &str, span: Span) -> TokenStream {
        let index = self
            .workflow
            .params
            .iter()
            .position(|param| crate::names::text(&param.name) == key)
            .unwrap_or(0);
        let alias = format_ident!("__WorkflowParam{}", index, span = span);
        quote!(#alias)
    }

    /// The plan's name for what a reference means: the node's id, or the merged name.
    fn id_of(&self, key: &str, nodes: &[usize]) -> String {
        match Resolution::one(nodes) {
            (_, true) => key.to_owned(),
            (node, false) => self
                .ids
                .get(node)
                .cloned()
                .unwrap_or_else(|| key.to_owned()),
        }
    }
}

/// What the parts of an expansion add up: items beside the checks, the wiring checks the type
/// checker runs, the node handles, and the pieces of the spec.
#[derive(Default)]
struct Output {
    items: TokenStream,
    checks: TokenStream,
    handles: TokenStream,
    handle_names: std::collections::BTreeSet<String>,
    node_specs: Vec<TokenStream>,
    merges: Vec<TokenStream>,
    branch_specs: Vec<TokenStream>,
    /// `Some(Returns { .. })` for a workflow that returns a value.
    returns: Option<TokenStream>,
    /// The workflow's `Task` impl, when it returns a value (outside the `const` block).
    workflow_task: TokenStream,
    param_specs: Vec<TokenStream>,
}

/// One type alias per parameter, at the parameter's type, named by every use of the parameter.
fn param_aliases(cx: &Context, out: &mut Output) {
    for (index, param) in cx.workflow.params.iter().enumerate() {
        let ty = &param.ty;
        let alias = format_ident!("__WorkflowParam{}", index);
        // Decoding and encoding for branches, bound at the type (where the parameter spec's
        // own check reports a type that is not serde): never again where a branch uses it.
        let fns = param_fns(index);
        let span = syn::spanned::Spanned::span(ty);
        out.items.extend(quote! {
            #[allow(non_camel_case_types)]
            type #alias = #ty;
        });
        out.items.extend(quote_spanned! {span=>
            #[allow(non_upper_case_globals, dead_code)]
            const #fns: ::workflow_core::__private::ParamFns<#alias> = <#ty as ::workflow_core::__private::ParamType>::FNS;
        });
    }
}

/// The conversions of parameter `index` (see [`param_aliases`]).
fn param_fns(index: usize) -> Ident {
    format_ident!("__WORKFLOW_PARAM{}", index)
}

/// The alias of node `index`'s task, located at `span`.
fn task_alias(index: usize, span: Span) -> Ident {
    format_ident!("__WorkflowTask{}", index, span = span)
}

/// The trait checking that arm node `index` produces the type of the arms before it.
fn same_type(key: &str, index: usize) -> Ident {
    format_ident!(
        "__workflow_{}_same_type_{}",
        crate::names::ident_part(key),
        index,
        span = Span::mixed_site()
    )
}

/// A declared pool that no node runs in limits nothing: usually a typo on one side. The
/// nodes' pools are their tasks', known once names resolve, so the check is a constant,
/// reported at the `#[pool]` attribute.
fn pool_checks(cx: &Context, out: &mut Output) {
    let Context {
        workflow,
        options,
        name_text,
        ..
    } = cx;
    let Output { items, .. } = out;
    let mut check_names = std::collections::BTreeSet::new();
    for ((pool, _), span) in options.pools.iter().zip(&options.pool_spans) {
        let used = workflow
            .statements
            .iter()
            .enumerate()
            .map(|(index, statement)| {
                let alias = task_alias(index, syn::spanned::Spanned::span(&statement.task));
                quote!(<#alias as ::workflow_core::Task>::SPEC.policy.pool)
            });
        // Named so that rustc's label says what failed; pools whose names differ only in
        // `-`, `_` or `.` get a number to stay apart.
        let mut check_name = format!(
            "{}_declares_pool_{}",
            crate::names::ident_part(name_text),
            crate::names::ident_part(pool)
        );
        if !check_names.insert(check_name.clone()) {
            check_name = format!("{check_name}_{}", check_names.len());
            check_names.insert(check_name.clone());
        }
        let check = format_ident!("{}", check_name, span = Span::mixed_site());
        items.extend(quote_spanned! {*span=>
            #[allow(non_upper_case_globals, dead_code)]
            const #check: () = {
                let __workflow_used: &[::core::option::Option<&str>] = &[#(#used),*];
                if let ::core::option::Option::Some(__workflow_message) =
                    ::workflow_core::__private::unused_pool_message(#name_text, #pool, __workflow_used)
                {
                    ::core::panic!("{}", __workflow_message.as_str());
                }
            };
        });
    }
}

/// Per node: its task's alias, the arity check, a check per input, its test handle and its
/// spec.
fn nodes(cx: &Context, out: &mut Output) {
    let Context {
        workflow,
        ids,
        resolution,
        ..
    } = cx;
    let Output {
        items,
        checks,
        node_specs,
        handles,
        handle_names,
        ..
    } = out;
    let visibility = &workflow.visibility;
    let id_of = |key: &str, nodes: &[usize]| cx.id_of(key, nodes);
    for (index, statement) in workflow.statements.iter().enumerate() {
        let task = &statement.task;
        let task_span = syn::spanned::Spanned::span(task);
        // Every use of the task is located at its path, so "not a task" is reported once, there.
        let alias = task_alias(index, task_span);
        let task_text = token_text(task);
        let node_text = ids.get(index).cloned().unwrap_or_default();
        let node_ident = crate::names::ident_part(&node_text);
        let declared_alias = task_alias(index, Span::mixed_site());
        items.extend(quote! {
            #[allow(non_camel_case_types)]
            type #declared_alias = #task;
        });
        // Arity: the task's inputs are known only after name resolution, so the count is
        // compared during constant evaluation, with a message that lists the expected inputs.
        // The constant is named after the node, which is what rustc's label shows.
        let given = statement.arguments.len();
        // Raw when the node's name is a keyword (`r#match`), as the user wrote it.
        let arity = crate::names::handle_ident(&node_ident, Span::mixed_site())
            .unwrap_or_else(|| format_ident!("{}_", node_ident, span = Span::mixed_site()));
        items.extend(quote_spanned! {statement.arguments_span=>
            #[allow(non_upper_case_globals, dead_code)]
            const #arity: () = {
                let __workflow_spec = &<#alias as ::workflow_core::Task>::SPEC;
                if __workflow_spec.inputs.len() != #given {
                    let __workflow_message = ::workflow_core::__private::arity_message(__workflow_spec, #node_text, #given);
                    ::core::panic!("{}", __workflow_message.as_str());
                }
            };
        });

        let sources = input_sources(cx, items, checks, index, statement);
        let after: Vec<String> = statement
            .after
            .iter()
            .enumerate()
            .map(|(position, name)| {
                let nodes = resolution
                    .after
                    .get(&(index, position))
                    .map_or(&[][..], Vec::as_slice);
                id_of(&crate::names::text(name), nodes)
            })
            .collect();
        let condition = match statement.condition {
            Some((branch, arm)) => {
                quote!(::core::option::Option::Some(::workflow_core::Condition { branch: #branch, arm: #arm }))
            }
            None => quote!(::core::option::Option::None),
        };
        let map = match mapped_input(statement) {
            Some(input) => {
                let max_parallel = match statement.max_parallel {
                    Some((count, _)) => quote!(::core::option::Option::Some(#count)),
                    None => quote!(::core::option::Option::None),
                };
                quote!(::core::option::Option::Some(::workflow_core::MapSpec { input: #input, max_parallel: #max_parallel }))
            }
            None => quote!(::core::option::Option::None),
        };
        // The node's handle for tests: `workflow::node`, typed with its task. None for a node
        // named `spec` or `NAME`, which would hide the workflow's own `spec()` and `NAME`.
        let handle_name = crate::names::ident_part(&node_text);
        let handle_span = statement.node_name().map_or(task_span, |name| name.span());
        if !matches!(handle_name.as_str(), "spec" | "NAME")
            && crate::names::handle_ident(&handle_name, handle_span).is_some()
            && handle_names.insert(handle_name.clone())
        {
            let handle = crate::names::handle_ident(&handle_name, handle_span);
            let handle = handle.into_iter();
            let shape = if mapped_input(statement).is_some() {
                quote!(::workflow_core::testing::Mapped)
            } else {
                quote!(::workflow_core::testing::Single)
            };
            let doc = format!(
                "Node `{node_text}` (task `{task_text}`): its handle, to stub it or read its output in tests."
            );
            handles.extend(quote! {
                #[doc = #doc]
                #[allow(non_upper_case_globals, private_interfaces, dead_code)]
                #visibility const #(#handle)*: ::workflow_core::testing::Node<Self, #declared_alias, #shape> = ::workflow_core::testing::Node::new(#node_text);
            });
        }
        node_specs.push(quote_spanned! {task_span=>
            ::workflow_core::NodeSpec {
                name: #node_text,
                task: <#alias as ::workflow_core::Task>::SPEC,
                inputs: ::std::vec![#(#sources),*],
                after: ::std::vec![#(#after),*],
                call: <#alias as ::workflow_core::Task>::call_json,
                map: #map,
                condition: #condition,
                ..::workflow_core::__private::defaults::node()
            }
        });
    }
}

/// Per input of node `index`: a check in workflow terms that what it is given fits the task's
/// input, at the input, and where the plan takes the value from.
fn input_sources(
    cx: &Context,
    items: &mut TokenStream,
    checks: &mut TokenStream,
    index: usize,
    statement: &super::parse::Statement,
) -> Vec<TokenStream> {
    let Context {
        options,
        params,
        resolution,
        ids,
        ..
    } = cx;
    let value_of = |key: &str, nodes: &[usize], span| cx.value_of(key, nodes, span);
    let id_of = |key: &str, nodes: &[usize]| cx.id_of(key, nodes);
    let task = &statement.task;
    let alias = task_alias(index, syn::spanned::Spanned::span(task));
    let task_text = token_text(task);
    let node_text = ids.get(index).cloned().unwrap_or_default();
    let node_ident = crate::names::ident_part(&node_text);
    let input_type = |position: usize, found: &TokenStream, span: Span| {
        let task_input = quote_spanned!(span=> <#alias as ::workflow_core::Task>::Inputs);
        let input = format_ident!("Input{}", position, span = span);
        quote_spanned!(span=> <#task_input as ::workflow_core::__private::ExpectedAt<#found>>::#input)
    };
    let mut sources = Vec::new();
    for (position, argument) in statement.arguments.iter().enumerate() {
        let span = argument.span();
        let number = position + 1;
        // The type the argument has, how messages describe it, and where the plan says it
        // comes from.
        let (found, described, source) = match argument {
            Argument::Name(ident) | Argument::Each(ident) => {
                let key = crate::names::text(ident);
                // The whole value: its type, what it is, and where the plan takes it from.
                let (whole, what, source) = match params.get(&key) {
                    Some(_) => (
                        cx.param_type(&key, span),
                        format!("parameter `{key}`"),
                        quote!(::workflow_core::Source::Param(#key)),
                    ),
                    None if options.secrets.iter().any(|(secret, _)| *secret == key) => (
                        quote_spanned!(span=> ::workflow_core::Secret),
                        format!("secret `{key}`"),
                        quote!(::workflow_core::Source::Secret(#key)),
                    ),
                    None => {
                        let nodes = resolution
                            .inputs
                            .get(&(index, position))
                            .map_or(&[][..], Vec::as_slice);
                        let id = id_of(&key, nodes);
                        (
                            value_of(&key, nodes, span),
                            format!("node `{key}`"),
                            quote!(::workflow_core::Source::Node(#id)),
                        )
                    }
                };
                match argument {
                    Argument::Each(_) => {
                        let element = quote_spanned!(span=> <#whole as ::workflow_core::__private::Collection>::Item);
                        (element, format!("each element of {what} is"), source)
                    }
                    _ if what.starts_with("node") => (whole, format!("{what} produces"), source),
                    _ => (whole, format!("{what} is"), source),
                }
            }
            Argument::Constant(
                constant @ Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(text),
                    ..
                }),
            ) => {
                let found = quote_spanned!(span=> ::std::string::String);
                let described = format!(
                    "the constant {} is",
                    token_text(text).replace('{', "{{").replace('}', "}}")
                );
                let value = quote_spanned!(span=> ::workflow_core::Source::Value(::workflow_core::__private::to_value::<#found>(::std::string::String::from(#constant))));
                (found, described, value)
            }
            Argument::Constant(constant) if literal_suffix(constant).is_some() => {
                // `7u64`: a literal that names its own type, checked like a parameter.
                let suffix = literal_suffix(constant).unwrap_or_default();
                let found = syn::Ident::new(&suffix, span);
                let text = literal_text(constant);
                (
                    quote!(#found),
                    format!("the constant {text} is"),
                    quote_spanned!(span=> ::workflow_core::Source::Value(::workflow_core::__private::to_value::<#found>(#constant))),
                )
            }
            Argument::Constant(constant) => {
                let Some((marker, kind)) = literal_kind(constant) else {
                    let expected = input_type(position, &quote!(()), span);
                    // Any other expression: rustc's own mismatch, at the expression.
                    sources.push(quote_spanned!(span=> ::workflow_core::Source::Value(::workflow_core::__private::to_value::<#expected>(#constant))));
                    continue;
                };
                // A number, `bool` or `char` literal: whether its kind fits the input is
                // one check in workflow terms; the value is converted at the type the check
                // yields, so a misfit is not reported again as a mismatch (and a literal
                // out of the type's range still is, by rustc's lint).
                let check = format_ident!(
                    "__workflow_{}_input_{}",
                    node_ident,
                    number,
                    span = Span::mixed_site()
                );
                let text = literal_text(constant);
                let message = format!(
                    "task `{task_text}` expects `{{Expected}}` for input #{number}, but the constant {text} is {kind}"
                );
                let label = format!(
                    "expected `{{Expected}}` for input #{number} of `{task_text}`, found {kind}"
                );
                let note = "a constant input has the input's own type: an integer fits integer types (a negative one, signed types), `1.0` fits `f32` and `f64`, `true` fits `bool`, `'c'` fits `char`, and \"text\" fits `String`";
                let marker = format_ident!("{}", marker, span = span);
                items.extend(literal_check(
                    &check,
                    &marker,
                    span,
                    quote!(message = #message, label = #label, note = #note),
                ));
                // Past the task's last input (`AnyLiteral`) the literal fits at its own type:
                // the input count is what is wrong there, and is reported alone.
                let own = format_ident!(
                    "{}",
                    literal_types(&marker.to_string())
                        .last()
                        .copied()
                        .unwrap_or("i64")
                );
                items.extend(quote! {
                    #[diagnostic::do_not_recommend]
                    impl #check<::workflow_core::__private::AnyLiteral> for ::workflow_core::__private::#marker { type Target = #own; }
                });
                let expected = input_type(
                    position,
                    &quote!(::workflow_core::__private::AnyLiteral),
                    span,
                );
                let fitted = quote_spanned!(span=> <::workflow_core::__private::#marker as #check<#expected>>::Target);
                sources.push(quote_spanned!(span=> ::workflow_core::Source::Value(::workflow_core::__private::to_value::<#fitted>(#constant))));
                continue;
            }
        };
        let check = format_ident!(
            "__workflow_{}_input_{}",
            node_ident,
            number,
            span = Span::mixed_site()
        );
        let message = format!(
            "task `{task_text}` expects `{{Expected}}` for input #{number}, but {described} `{{Self}}`"
        );
        let label = format!(
            "expected `{{Expected}}` for input #{number} of `{task_text}`, found `{{Self}}`"
        );
        let note = format!(
            "node `{node_text}` passes its inputs to `{task_text}` in the order of the function's parameters"
        );
        items.extend(quote! {
            #[allow(non_camel_case_types)]
            #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
            trait #check<Expected: ?::core::marker::Sized> { const FITS: () = (); }
            impl<T: ?::core::marker::Sized> #check<T> for T {}
        });
        let expected = input_type(position, &found, span);
        checks.extend(quote_spanned! {span=>
            let () = <#found as #check<#expected>>::FITS;
        });
        sources.push(source);
    }
    sources
}

/// Names produced in several arms: one merge each, and every arm must produce one type.
fn merges(cx: &Context, out: &mut Output) {
    let Context { workflow, ids, .. } = cx;
    let Output {
        items,
        checks,
        merges,
        ..
    } = out;
    let value_of = |key: &str, nodes: &[usize], span| cx.value_of(key, nodes, span);
    let mut merged_names: Vec<String> = Vec::new();
    for statement in &workflow.statements {
        let Some(name) = statement.node_name().map(ToString::to_string) else {
            continue;
        };
        if merged_names.contains(&name) {
            continue;
        }
        let instances = workflow.nodes_named(&name);
        if instances.len() < 2 {
            continue;
        }
        merged_names.push(name.clone());
        let arm_label = |index: usize| {
            workflow
                .statements
                .get(index)
                .and_then(|statement| statement.condition)
                .and_then(|(branch, arm)| workflow.branches.get(branch)?.arms.get(arm))
                .map_or_else(String::new, |arm| {
                    arm.label.replace('{', "{{").replace('}', "}}")
                })
        };
        let first = instances[0];
        for &other in &instances[1..] {
            let check = same_type(&name, other);
            let message = format!(
                "node `{name}` produces `{{Self}}` in arm `{}` but `{{Expected}}` in arm `{}`; every arm must produce the same type, because nodes after the branch take whichever ran",
                arm_label(other),
                arm_label(first)
            );
            let label = format!(
                "`{{Self}}` here, `{{Expected}}` in arm `{}`",
                arm_label(first)
            );
            items.extend(quote! {
                #[allow(non_camel_case_types)]
                #[diagnostic::on_unimplemented(message = #message, label = #label)]
                trait #check<Expected: ?::core::marker::Sized> { type Merged: ?::core::marker::Sized; }
                impl<T: ?::core::marker::Sized> #check<T> for T { type Merged = T; }
            });
        }
        // The merged type, named once so that every arm is checked even when nothing after
        // the branch uses the value.
        let at = workflow.statements[first]
            .node_name()
            .map_or_else(Span::call_site, |name| name.span());
        let merged_type = value_of(&name, &instances, at);
        checks.extend(quote_spanned! {at=> let _: ::core::option::Option<#merged_type> = ::core::option::Option::None; });
        let nodes = instances
            .iter()
            .map(|&index| ids.get(index).cloned().unwrap_or_default());
        merges.push(quote!(::workflow_core::Merge { name: ::std::string::String::from(#name), nodes: ::std::vec![#(::std::string::String::from(#nodes)),*] }));
    }
}

/// Branches: the value decided on, the arms, and the arm selector, which is the workflow's
/// own `match`, so rustc checks that it is exhaustive and that the patterns fit the type.
fn branches(cx: &Context, out: &mut Output) {
    let Context {
        workflow,
        params,
        resolution,
        ..
    } = cx;
    let Output {
        items,
        checks,
        branch_specs,
        ..
    } = out;
    let value_of = |key: &str, nodes: &[usize], span| cx.value_of(key, nodes, span);
    let id_of = |key: &str, nodes: &[usize]| cx.id_of(key, nodes);
    for (branch_index, branch) in workflow.branches.iter().enumerate() {
        let key = crate::names::text(&branch.on);
        let span = branch.on.span();
        // How the selector reads the value, and how an arm's value is written into the plan:
        // for a parameter, through its helpers (a type that is not serde is reported once, at
        // the parameter); for a node, as its task's output.
        let param = workflow
            .params
            .iter()
            .position(|param| crate::names::text(&param.name) == key);
        let (ty, on) = match params.get(&key) {
            Some(_) => (
                cx.param_type(&key, span),
                quote!(::workflow_core::Source::Param(#key)),
            ),
            None => {
                let nodes = resolution
                    .branches
                    .get(&branch_index)
                    .map_or(&[][..], Vec::as_slice);
                let id = id_of(&key, nodes);
                (
                    value_of(&key, nodes, span),
                    quote!(::workflow_core::Source::Node(#id)),
                )
            }
        };
        let select = format_ident!(
            "__workflow_select_{}",
            branch_index,
            span = Span::mixed_site()
        );
        // The decided-on value, named at the user's token for rustc's messages.
        let value = quote_spanned!(span=> __workflow_value);
        let decoded = match param {
            Some(index) => {
                let fns = param_fns(index);
                quote!((#fns.decode)(__workflow_json))
            }
            None => quote!(::workflow_core::__private::serde_json::from_value(
                __workflow_json.clone()
            )),
        };
        let encode = |path: &syn::ExprPath| match param {
            Some(index) => {
                let fns = param_fns(index);
                quote!((#fns.encode)(#path))
            }
            None => quote!(::workflow_core::__private::to_value::<#ty>(#path)),
        };
        let decision = match branch.kind {
            BranchKind::If => {
                checks.extend(
                    quote_spanned! {span=> let _: () = <#ty as ::workflow_core::__private::Condition>::CHECKED; },
                );
                let otherwise = if branch.arms.len() > 1 {
                    quote!(::core::option::Option::Some(1))
                } else {
                    quote!(::core::option::Option::None)
                };
                quote! {
                    // Read as a `bool` whatever it is declared: a value that is not is
                    // reported once, by the `Condition` check above.
                    let #value: bool = ::workflow_core::__private::serde_json::from_value(__workflow_json.clone())
                        .map_err(|__workflow_error| ::workflow_core::TaskError::new(::std::format!("branch on `{}`: {}", #key, __workflow_error)))?;
                    ::core::result::Result::Ok(if #value { ::core::option::Option::Some(0) } else { #otherwise })
                }
            }
            BranchKind::Match => {
                let arms = branch.arms.iter().enumerate().map(|(arm, syntax)| {
                    let pattern = &syntax.pattern;
                    quote!(#pattern => ::core::option::Option::Some(#arm),)
                });
                // String literal patterns decide on text: the `String` is matched as its
                // `&str`. Any other match is on the value itself.
                let text = branch
                    .arms
                    .iter()
                    .any(|arm| arm.pattern.as_ref().is_some_and(has_text_literal));
                let scrutinee = if text {
                    quote_spanned!(span=> match <#ty as ::workflow_core::__private::Text>::text(&#value))
                } else {
                    quote_spanned!(span=> match #value)
                };
                quote! {
                    let #value: #ty = #decoded
                        .map_err(|__workflow_error| ::workflow_core::TaskError::new(::std::format!("branch on `{}`: {}", #key, __workflow_error)))?;
                    #[allow(unreachable_patterns, unused_variables)]
                    ::core::result::Result::Ok(#scrutinee { #(#arms)* })
                }
            }
        };
        items.extend(quote! {
            fn #select(__workflow_json: &::workflow_core::__private::serde_json::Value) -> ::core::result::Result<::core::option::Option<usize>, ::workflow_core::TaskError> {
                #decision
            }
        });
        let arm_specs = branch.arms.iter().map(|arm| {
            let label = &arm.label;
            let value = match (&arm.pattern, branch.kind) {
                (None, _) => {
                    let flag = label == "true";
                    quote!(::core::option::Option::Some(::workflow_core::__private::to_value(#flag)))
                }
                (Some(syn::Pat::Path(path)), _) => {
                    let value = encode(path);
                    quote!(::core::option::Option::Some(#value))
                }
                // The selector's `match` checks the literal against the type, once.
                (Some(syn::Pat::Lit(literal)), _) => quote!(::core::option::Option::Some(::workflow_core::__private::to_value(#literal))),
                _ => quote!(::core::option::Option::None),
            };
            quote!(::workflow_core::ArmSpec { label: #label, value: #value })
        });
        branch_specs.push(quote! {
            ::workflow_core::BranchSpec { on: #on, arms: ::std::vec![#(#arm_specs),*], select: #select, ..::workflow_core::__private::defaults::branch() }
        });
    }
}

/// A workflow that returns a value is also a task: a node of other workflows.
/// Outside the anonymous `const` block, so that rustc names it `<name as Task>`.
/// Outside the anonymous `const` block, so that rustc names it `<name as Task>`.
fn sub_workflow(cx: &Context, out: &mut Output) {
    let Context {
        workflow,
        resolution,
        name_text,
        ..
    } = cx;
    let Output {
        items,
        checks,
        returns,
        workflow_task,
        ..
    } = out;
    let name = &workflow.name;
    let path_text = name.to_string();
    let self_ty = self_ty(workflow);
    let value_of = |key: &str, nodes: &[usize], span| cx.value_of(key, nodes, span);
    let id_of = |key: &str, nodes: &[usize]| cx.id_of(key, nodes);
    if let (Some(output), Some(returned)) = (&workflow.output, workflow.returns.first()) {
        let key = crate::names::text(returned);
        let span = returned.span();
        let id = id_of(&key, &resolution.returned);
        let output_text = token_text(output);
        *returns = Some(
            quote!(::core::option::Option::Some(::workflow_core::Returns { node: ::std::string::String::from(#id), ty: ::std::string::String::from(#output_text) })),
        );
        let returned_type = value_of(&key, &resolution.returned, span);
        let message = format!(
            "workflow `{name_text}` returns `{{Expected}}`, but node `{key}` produces `{{Self}}`"
        );
        items.extend(quote! {
            #[diagnostic::on_unimplemented(message = #message, label = "this is returned", note = "the type after `->` in the workflow's header is what it returns")]
            trait __WorkflowReturns<Expected: ?::core::marker::Sized> { const RETURNS: () = (); }
            impl<T: ?::core::marker::Sized> __WorkflowReturns<T> for T {}
        });
        // The declared type through the workflow's `Task::Output`: a type that does not
        // resolve is reported once, in the header, not again at `return`.
        let expected = quote_spanned!(span=> <#self_ty as ::workflow_core::Task>::Output);
        checks.extend(quote_spanned! {span=> let () = <#returned_type as __WorkflowReturns<#expected>>::RETURNS; });

        let param_types: Vec<&syn::Type> = workflow.params.iter().map(|param| &param.ty).collect();
        let count = param_types.len();
        let input_specs = workflow.params.iter().map(|param| {
            let param_name = crate::names::text(&param.name);
            let ty = token_text(&param.ty);
            quote!(::workflow_core::InputSpec { name: #param_name, ty: #ty })
        });
        let locals: Vec<_> = (0..workflow.params.len())
            .map(|index| format_ident!("__workflow_param_{}", index, span = Span::mixed_site()))
            .collect();
        let doc = doc_text(&workflow.attributes);
        // The deepest node, as nested `max` calls on the tasks' own paths (no array, so no
        // promoted constant): if workflows contain each other, rustc's cycle report names
        // `<outer as Task>::NESTING` and `<inner as Task>::NESTING` at their nodes.
        let deepest = workflow.statements.iter().fold(quote!(0), |deepest, statement| {
            let task = &statement.task;
            let span = syn::spanned::Spanned::span(task);
            quote_spanned!(span=> ::workflow_core::__private::deeper(<#task as ::workflow_core::Task>::NESTING, #deepest))
        });
        let name_span = name.span();
        workflow_task.extend(quote_spanned! {name_span=>
            #[allow(clippy::needless_update)]
            impl ::workflow_core::Task for #self_ty {
                type Inputs = (#(#param_types,)*);
                type Output = #output;
                type Returns = <Self as ::workflow_core::Task>::Output;
                const SPEC: ::workflow_core::TaskSpec = ::workflow_core::TaskSpec {
                    name: #name_text,
                    rust_path: ::core::concat!(::core::module_path!(), "::", #path_text),
                    description: #doc,
                    inputs: &[#(#input_specs),*],
                    output: #output_text,
                    fallible: true,
                    kind: ::workflow_core::TaskKind::Workflow,
                    // A sub-workflow's nodes carry their own policies.
                    policy: ::workflow_core::__private::defaults::TASK_POLICY,
                    ..::workflow_core::__private::defaults::TASK_SPEC
                };
                const NESTING: usize = 1 + #deepest;
                fn call(__workflow_inputs: Self::Inputs) -> ::core::result::Result<Self::Output, ::workflow_core::TaskError> {
                    let (#(#locals,)*) = __workflow_inputs;
                    ::workflow_core::__private::call_workflow::<Self, <Self as ::workflow_core::Task>::Output>(
                        ::std::vec![#(::workflow_core::__private::to_value(#locals)),*],
                        #id,
                    )
                }
                fn finish(__workflow_returned: Self::Returns) -> ::core::result::Result<Self::Output, ::workflow_core::TaskError> {
                    ::core::result::Result::Ok(__workflow_returned)
                }
                #[allow(unused_mut)]
                fn call_json(__workflow_json: ::std::vec::Vec<::workflow_core::__private::serde_json::Value>) -> ::core::result::Result<::workflow_core::__private::serde_json::Value, ::workflow_core::TaskError> {
                    // The values pass through as they are: the sub-workflow's own run decodes
                    // them, and its returned node's value is already JSON.
                    let __workflow_values = ::workflow_core::__private::input_values(__workflow_json, #count)?;
                    ::workflow_core::__private::call_workflow_json::<Self>(__workflow_values.collect(), #id)
                }
            }
        });
        // Evaluating the depth makes rustc report a workflow that contains itself through
        // others: the constant would depend on itself.
        workflow_task.extend(quote_spanned! {name_span=>
            const _: usize = <#self_ty as ::workflow_core::Task>::NESTING;
        });
    }
}

/// The partition parameter's type names a partition of the declared size.
fn partition_check(cx: &Context, out: &mut Output) {
    let Context {
        workflow, options, ..
    } = cx;
    let Output { items, .. } = out;
    if let Some(partition) = &options.partition
        && let Some(declared) = workflow
            .params
            .iter()
            .find(|declared| declared.name == partition.param)
    {
        let ty = &declared.ty;
        let span = syn::spanned::Spanned::span(ty);
        let check = match partition.size {
            PartitionSize::Daily => quote!(DailyPartitionKey),
            PartitionSize::Weekly => quote!(WeeklyPartitionKey),
            PartitionSize::Hourly => quote!(HourlyPartitionKey),
        };
        items.extend(quote_spanned! {span=>
            const _: () = <#ty as ::workflow_core::__private::#check>::CHECKED;
        });
    }
}

/// Per parameter: its spec, with its default checked and serialized.
fn param_specs(cx: &Context, out: &mut Output) {
    let Context { workflow, .. } = cx;
    let Output {
        items, param_specs, ..
    } = out;
    for (index, param) in workflow.params.iter().enumerate() {
        let param_name = crate::names::text(&param.name);
        let ty = &param.ty;
        let ty_text = token_text(ty);
        let default = match &param.default {
            Some(expression) => {
                // A function returning the parameter's type: a default of another type is
                // reported at the default, with the declared type as the reason.
                let function = format_ident!(
                    "__workflow_default_{}",
                    crate::names::ident_part(&crate::names::text(&param.name)),
                    span = Span::mixed_site()
                );
                let span = syn::spanned::Spanned::span(expression);
                let body = match (expression, literal_kind(expression)) {
                    // Text for a `String` or `PathBuf` parameter, as written.
                    (
                        Expr::Lit(syn::ExprLit {
                            lit: Lit::Str(_), ..
                        }),
                        _,
                    ) => {
                        let at_default = relocate(quote!(#ty), span);
                        (
                            quote!(#ty),
                            quote_spanned!(span=> <#at_default as ::workflow_core::__private::FromText>::from_text(#expression)),
                        )
                    }
                    // A number, `bool` or `char` of the wrong kind: one check in workflow terms,
                    // as for a node's constant input.
                    (_, Some((marker, kind))) => {
                        let check = format_ident!(
                            "__workflow_default_fits_{}",
                            crate::names::ident_part(&param_name),
                            span = Span::mixed_site()
                        );
                        let text = literal_text(expression);
                        let message = format!(
                            "parameter `{param_name}` is `{{Expected}}`, but its default {text} is {kind}"
                        );
                        let label = format!("expected `{{Expected}}`, found {kind}");
                        let marker = format_ident!("{}", marker, span = span);
                        items.extend(literal_check(
                            &check,
                            &marker,
                            span,
                            quote!(message = #message, label = #label),
                        ));
                        // Serialized at the fitted type: when the check fails that is an
                        // error type, and the literal is not reported again as a mismatch.
                        let fitted = quote_spanned!(span=> <::workflow_core::__private::#marker as #check<#ty>>::Target);
                        (
                            quote!(),
                            quote_spanned!(span=> ::workflow_core::__private::to_value::<#fitted>(#expression)),
                        )
                    }
                    _ => (quote!(#ty), quote!(#expression)),
                };
                match body {
                    (returns, value) if returns.is_empty() => {
                        quote!(::core::option::Option::Some(#value))
                    }
                    (returns, body) => {
                        items.extend(quote! {
                            #[allow(non_snake_case)]
                            fn #function() -> #returns { #body }
                        });
                        quote!(::core::option::Option::Some(::workflow_core::__private::to_value::<#ty>(#function())))
                    }
                }
            }
            None => quote!(::core::option::Option::None),
        };
        let fns = param_fns(index);
        let parse = quote!(#fns.parse);
        let check = quote!(#fns.check);
        param_specs.push(quote! {
            ::workflow_core::ParamSpec {
                name: #param_name,
                ty: #ty_text,
                default: #default,
                parse: #parse,
                check: #check,
                ..::workflow_core::__private::defaults::param()
            }
        });
    }
}

fn header(workflow: &Workflow) -> TokenStream {
    let name = &workflow.name;
    let name_text = crate::names::text(name);
    let location = proc_macro2::Literal::u64_unsuffixed(workflow.location);
    let self_ty = self_ty(workflow);
    let visibility = &workflow.visibility;
    let docs = workflow
        .attributes
        .iter()
        .filter(|attribute| attribute.path().is_ident("doc"));
    // Spanned at the name: a second workflow of this name in the module is reported there.
    let structure = quote_spanned!(name.span()=> struct #name<const __AT: u64 = #location> {});
    quote! {
        #(#docs)*
        #[allow(non_camel_case_types)]
        #visibility #structure
        // By hand, not derived: a derived impl is generic over `__AT`, and would conflict with
        // its copy when the workflow is pasted twice (one "defined multiple times" is enough).
        const _: () = {
            #[allow(clippy::expl_impl_clone_on_copy)]
            impl ::core::clone::Clone for #self_ty {
                fn clone(&self) -> Self {
                    *self
                }
            }
            impl ::core::marker::Copy for #self_ty {}
            impl ::core::fmt::Debug for #self_ty {
                fn fmt(&self, __workflow_formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    __workflow_formatter.write_str(#name_text)
                }
            }
            impl ::core::default::Default for #self_ty {
                fn default() -> Self {
                    Self {}
                }
            }
            impl ::core::cmp::PartialEq for #self_ty {
                fn eq(&self, _: &Self) -> bool {
                    true
                }
            }
            impl ::core::cmp::Eq for #self_ty {}
            impl ::core::hash::Hash for #self_ty {
                fn hash<H: ::core::hash::Hasher>(&self, _: &mut H) {}
            }
        };
    }
}

/// The workflow's struct as a type with its own location: what every impl is for.
fn self_ty(workflow: &Workflow) -> TokenStream {
    let name = &workflow.name;
    let location = proc_macro2::Literal::u64_unsuffixed(workflow.location);
    quote!(#name<#location>)
}

fn spec_value(
    workflow: &Workflow,
    params: TokenStream,
    nodes: TokenStream,
    operations: TokenStream,
    secrets: TokenStream,
    branches: TokenStream,
) -> TokenStream {
    let name = crate::names::text(&workflow.name);
    let path_text = workflow.name.to_string();
    let doc = doc_text(&workflow.attributes);
    quote! {
        ::workflow_core::WorkflowSpec {
            name: #name,
            doc: #doc,
            rust_path: ::core::concat!(::core::module_path!(), "::", #path_text),
            params: #params,
            nodes: #nodes,
            operations: #operations,
            secrets: #secrets,
            #branches
            ..::workflow_core::__private::defaults::workflow()
        }
    }
}

/// The `Operations` value the options describe.
fn operations(options: &Options) -> TokenStream {
    let path = quote!(::workflow_core::operations);
    let some = |value: TokenStream| quote!(::core::option::Option::Some(#value));
    let none = quote!(::core::option::Option::None);
    let schedule = match &options.schedule {
        Some(schedule) => {
            let when = match &schedule.cadence {
                Cadence::Cron(expression) => {
                    quote!(#path::Cadence::Cron(::std::string::String::from(#expression)))
                }
                Cadence::Every(interval) => {
                    let seconds = interval.as_secs();
                    quote!(#path::Cadence::EverySecs(#seconds))
                }
            };
            let timezone = &schedule.timezone;
            let catch_up = match schedule.catch_up {
                CatchUp::Skip => quote!(#path::CatchUp::Skip),
                CatchUp::Latest => quote!(#path::CatchUp::Latest),
                CatchUp::All(max) => {
                    let max = match max {
                        Some(max) => some(quote!(#max)),
                        None => none.clone(),
                    };
                    quote!(#path::CatchUp::All { max: #max })
                }
            };
            some(
                quote!(#path::Schedule { when: #when, timezone: ::std::string::String::from(#timezone), catch_up: #catch_up }),
            )
        }
        None => none.clone(),
    };
    let overlap = match options.overlap {
        Overlap::Forbid => quote!(#path::Overlap::Forbid),
        Overlap::Queue => quote!(#path::Overlap::Queue),
        Overlap::Replace => quote!(#path::Overlap::Replace),
    };
    let pools = options.pools.iter().map(|(name, slots)| quote!(#path::Pool { name: ::std::string::String::from(#name), slots: #slots }));
    let timeout = match options.timeout {
        Some(timeout) => {
            let seconds = timeout.as_secs();
            some(quote!(#seconds))
        }
        None => none,
    };
    let on_failure = match options.on_failure {
        FailureAction::Continue => quote!(#path::FailureAction::Continue),
        FailureAction::Stop => quote!(#path::FailureAction::Stop),
        FailureAction::Pause => quote!(#path::FailureAction::Pause),
    };
    let notify = |notify: &Notify| {
        let email = &notify.email;
        let webhook = &notify.webhook;
        quote!(#path::Notify {
            email: ::std::vec![#(::std::string::String::from(#email)),*],
            webhook: ::std::vec![#(::std::string::String::from(#webhook)),*],
            ..::workflow_core::__private::defaults::notify()
        })
    };
    let triggers = options.triggers.iter().map(|trigger| match trigger {
        Trigger::After { workflow, within } => {
            let span = syn::spanned::Spanned::span(workflow);
            let within = match within {
                Some(within) => {
                    let seconds = within.as_secs();
                    quote!(::core::option::Option::Some(#seconds))
                }
                None => quote!(::core::option::Option::None),
            };
            let name = quote_spanned!(span=> <#workflow as ::workflow_core::Workflow>::NAME);
            quote!(#path::Trigger::AfterWorkflow { workflow: ::std::string::String::from(#name), within_secs: #within })
        }
        Trigger::File(pattern) => quote!(#path::Trigger::File { pattern: ::std::string::String::from(#pattern) }),
    });
    let partition = match &options.partition {
        Some(partition) => {
            let every = match partition.size {
                PartitionSize::Daily => quote!(#path::PartitionEvery::Daily),
                PartitionSize::Weekly => quote!(#path::PartitionEvery::Weekly),
                PartitionSize::Hourly => quote!(#path::PartitionEvery::Hourly),
            };
            let param = crate::names::text(&partition.param);
            quote!(::core::option::Option::Some(#path::Partition { every: #every, param: ::std::string::String::from(#param) }))
        }
        None => quote!(::core::option::Option::None),
    };
    let notify_failure = notify(&options.notify_failure);
    let notify_success = notify(&options.notify_success);
    let reruns = match options.reruns {
        Some(reruns) => quote!(#reruns),
        None => quote!(#path::DEFAULT_RERUNS),
    };
    quote! {
        #path::Operations {
            schedule: #schedule,
            overlap: #overlap,
            pools: ::std::vec![#(#pools),*],
            timeout_secs: #timeout,
            on_failure: #on_failure,
            reruns: #reruns,
            notify_failure: #notify_failure,
            notify_success: #notify_success,
            triggers: ::std::vec![#(#triggers),*],
            partition: #partition,
            ..::workflow_core::__private::defaults::operations()
        }
    }
}

/// The secrets as references: a name and where the value is read from.
fn secrets(options: &Options) -> TokenStream {
    let secrets = options.secrets.iter().map(|(name, source)| {
        let name = crate::names::text(name);
        match source {
            SecretSource::Env(variable) => {
                quote!(::workflow_core::Secret::from_env(#name, #variable))
            }
            SecretSource::File(path) => quote!(::workflow_core::Secret::from_file(#name, #path)),
        }
    });
    quote!(::std::vec![#(#secrets),*])
}

/// The position of the input a node maps over with `each(...)`, if it maps.
fn mapped_input(statement: &super::parse::Statement) -> Option<usize> {
    statement
        .arguments
        .iter()
        .position(|argument| matches!(argument, Argument::Each(_)))
}

/// The marker type and the description of an unsuffixed number, `bool` or `char` literal
/// (`30`, `-30`, `0.5`, `true`, `'x'`); `None` for any other expression, left to rustc.
fn literal_kind(constant: &Expr) -> Option<(&'static str, &'static str)> {
    let (negative, literal) = match constant {
        Expr::Lit(literal) => (false, &literal.lit),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(literal) => (true, &literal.lit),
            _ => return None,
        },
        _ => return None,
    };
    match literal {
        Lit::Int(int) if int.suffix().is_empty() && negative => {
            Some(("NegativeIntegerConstant", "a negative integer"))
        }
        Lit::Int(int) if int.suffix().is_empty() => Some(("IntegerConstant", "an integer")),
        Lit::Float(float) if float.suffix().is_empty() => {
            Some(("FloatConstant", "a floating-point number"))
        }
        Lit::Bool(_) if !negative => Some(("BoolConstant", "a `bool`")),
        Lit::Char(_) if !negative => Some(("CharConstant", "a `char`")),
        _ => None,
    }
}

/// The primitive types a literal of this kind (a marker of [`literal_kind`]) can be written
/// for, as Rust reads a literal against its expected type.
fn literal_types(marker: &str) -> &'static [&'static str] {
    match marker {
        // The last one is the literal's own type (`i64` for an integer, as a plan holds it).
        "IntegerConstant" => &[
            "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i128", "isize", "i64",
        ],
        "NegativeIntegerConstant" => &["i8", "i16", "i32", "i128", "isize", "i64"],
        "FloatConstant" => &["f32", "f64"],
        "BoolConstant" => &["bool"],
        _ => &["char"],
    }
}

/// Whether a `match` pattern is or contains a string literal (`"eu"`, `"eu" | "europe"`).
fn has_text_literal(pattern: &syn::Pat) -> bool {
    match pattern {
        syn::Pat::Lit(literal) => matches!(literal.lit, Lit::Str(_)),
        syn::Pat::Or(or) => or.cases.iter().any(has_text_literal),
        syn::Pat::Paren(inner) => has_text_literal(&inner.pat),
        _ => false,
    }
}

/// The type a number literal names with its suffix (`u64` for `7u64`, `f32` for `-0.5f32`).
fn literal_suffix(constant: &Expr) -> Option<String> {
    let literal = match constant {
        Expr::Lit(literal) => &literal.lit,
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(literal) => &literal.lit,
            _ => return None,
        },
        _ => return None,
    };
    let suffix = match literal {
        Lit::Int(int) => int.suffix(),
        Lit::Float(float) => float.suffix(),
        _ => return None,
    };
    (!suffix.is_empty()).then(|| suffix.to_owned())
}

/// A literal as written (tokens print `-30` as `- 30`), escaped for a diagnostic message.
fn literal_text(constant: &Expr) -> String {
    token_text(constant)
        .replacen("- ", "-", 1)
        .replace('{', "{{")
        .replace('}', "}}")
}

/// The check trait `check` for a literal of kind `marker` (see [`literal_kind`]), implemented
/// once per type such a literal fits with no further bound, so that an unfit one is reported
/// as this trait, with `diagnostic` (the `on_unimplemented` arguments).
fn literal_check(
    check: &Ident,
    marker: &Ident,
    span: Span,
    diagnostic: TokenStream,
) -> TokenStream {
    let fits = literal_types(&marker.to_string()).iter().map(|fit| {
        let fit = format_ident!("{}", fit);
        quote_spanned!(span=> #[diagnostic::do_not_recommend] impl #check<#fit> for ::workflow_core::__private::#marker { type Target = #fit; })
    });
    quote! {
        #[allow(non_camel_case_types)]
        #[diagnostic::on_unimplemented(#diagnostic)]
        trait #check<Expected: ?::core::marker::Sized> { type Target; }
        #(#fits)*
    }
}
