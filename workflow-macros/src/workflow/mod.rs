//! `workflow!`: parse the declaration, check names and the graph, and generate the workflow's
//! struct, its compile-time wiring checks, its spec and its registration.

mod expand;
mod graph;
mod options;
mod parse;

use proc_macro2::TokenStream;

use crate::diag::Diagnostics;

/// The whole `workflow!` macro over `proc_macro2` tokens: never panics; problems become
/// `compile_error!`s, all of them at once.
///
/// `location` identifies the invocation in its file (see [`parse::Workflow::location`]).
pub fn expand(input: TokenStream, location: u64) -> TokenStream {
    let mut diagnostics = Diagnostics::new();
    let Some(mut workflow) = parse::workflow(input, &mut diagnostics) else {
        return diagnostics.to_compile_errors();
    };
    workflow.location = location;
    // A workflow's name names it on every engine: a systemd unit, an Airflow DAG id and an
    // Argo CronWorkflow (at most 52 characters there, which appends a suffix).
    let name_text = crate::names::text(&workflow.name);
    if !name_text.is_ascii() || name_text.len() > 52 {
        diagnostics.error(
            workflow.name.span(),
            format!("workflow name `{name_text}` must be ASCII and at most 52 characters: it names the workflow's systemd units, Airflow DAG and Argo CronWorkflow, which allow no more"),
        );
    }
    if let Some(error) = crate::names::shadows_primitive(&workflow.name, "workflow") {
        // Not even a stub: a struct of that name would break the module's primitive type.
        diagnostics.push(error);
        return diagnostics.to_compile_errors();
    }
    let options = options::parse(&workflow.attributes, &mut diagnostics);
    for trigger in &options.triggers {
        if let options::Trigger::After {
            workflow: upstream, ..
        } = trigger
            && upstream.is_ident(&workflow.name)
        {
            diagnostics.error(
                syn::spanned::Spanned::span(upstream),
                format!("workflow `{}` cannot trigger itself; use `#[schedule(...)]` to run it repeatedly", workflow.name),
            );
        }
    }
    if let Some(options::Partition { param, .. }) = &options.partition
        && !workflow
            .params
            .iter()
            .any(|declared| declared.name == *param)
    {
        let names = workflow
            .params
            .iter()
            .map(|declared| declared.name.to_string())
            .collect::<Vec<_>>();
        diagnostics.error(
            param.span(),
            format!(
                "the partition parameter `{param}` is not a parameter of workflow `{}`{}",
                workflow.name,
                crate::names::did_you_mean(&param.to_string(), names.iter().map(String::as_str))
            ),
        );
    }
    let secrets: Vec<&syn::Ident> = options.secrets.iter().map(|(name, _)| name).collect();
    let resolution =
        graph::check(&workflow, &secrets, &mut diagnostics).filter(|_| diagnostics.is_empty());
    // A node running a task of the workflow's own name: no stub either, whose struct would
    // clash with the task's (the error above says to rename the workflow).
    let named_like_its_task = workflow
        .statements
        .iter()
        .any(|statement| statement.task.is_ident(&workflow.name));
    let mut output = if let Some(resolution) = &resolution {
        expand::workflow(&workflow, &options, resolution)
    } else if named_like_its_task {
        TokenStream::new()
    } else {
        expand::stub(&workflow)
    };
    output.extend(diagnostics.to_compile_errors());
    output
}
