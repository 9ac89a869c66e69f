//! Checks on the workflow as a graph: names, references and cycles. Emits no code.

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::Ident;

use super::parse::{Argument, Workflow};
use crate::MAX_INPUTS;
use crate::diag::Diagnostics;
use crate::names::did_you_mean;

/// A reference from one node to another: by an input or by `.after(...)`.
struct Reference<'a> {
    from: usize,
    to: usize,
    ident: &'a Ident,
}

/// Why an integer literal (`18446744073709551616`, `-9223372036854775809`) cannot be a
/// constant of a plan, whose JSON numbers hold 64-bit integers: `None` for anything else.
fn wider_than_json(constant: &syn::Expr) -> Option<String> {
    let (negative, literal) = match constant {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => (false, int),
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(int),
                ..
            }) => (true, int),
            _ => return None,
        },
        _ => return None,
    };
    let value = literal.base10_parse::<u128>().ok()?;
    let fits = if negative {
        value <= 1 << 63
    } else {
        value <= u128::from(u64::MAX)
    };
    (!fits).then(|| {
        format!(
            "the constant {sign}{digits} is wider than a plan holds (its JSON numbers are 64-bit integers, from -2^63 to 2^64 - 1); pass it as text, `\"{sign}{digits}\"` into a `String` input, and parse it in the task",
            sign = if negative { "-" } else { "" },
            digits = literal.base10_digits()
        )
    })
}

/// What every node name in a checked workflow refers to: the one node, or, for a name
/// produced in every arm of a branch and used after it, that node in each arm. The expansion
/// reads this and resolves nothing itself.
#[derive(Debug, Default)]
pub struct Resolution {
    /// By (statement, input position): the nodes a node-name input refers to. Inputs that
    /// are parameters, secrets or constants are absent.
    pub inputs: BTreeMap<(usize, usize), Vec<usize>>,
    /// By (statement, position in `.after(...)`): the nodes.
    pub after: BTreeMap<(usize, usize), Vec<usize>>,
    /// By branch: the nodes it decides on (absent when it decides on a parameter).
    pub branches: BTreeMap<usize, Vec<usize>>,
    /// The nodes the workflow returns (empty without `return`).
    pub returned: Vec<usize>,
}

impl Resolution {
    /// The node a reference means and whether it is a name merged from several arms (then
    /// the first arm's node stands for the type every arm shares).
    pub fn one(nodes: &[usize]) -> (usize, bool) {
        (nodes.first().copied().unwrap_or(0), nodes.len() > 1)
    }
}

/// Reports every problem with names and the graph; returns what the names refer to when the
/// workflow is sound, `None` after reporting a problem.
pub fn check(
    workflow: &Workflow,
    secrets: &[&Ident],
    diagnostics: &mut Diagnostics,
) -> Option<Resolution> {
    let mut resolution = Resolution::default();
    let before = diagnostics.is_empty();
    let mut problems = Diagnostics::new();
    let name = &workflow.name;
    // Parameters and secrets: names an input can take a value from, with what they are.
    let mut params: BTreeMap<String, &'static str> = BTreeMap::new();
    for param in &workflow.params {
        let key = crate::names::text(&param.name);
        if let std::collections::btree_map::Entry::Vacant(entry) = params.entry(key.clone()) {
            entry.insert("parameter");
        } else {
            problems.error(
                param.name.span(),
                format!("parameter `{key}` is declared twice in workflow `{name}`"),
            );
        }
    }
    for secret in secrets {
        let key = crate::names::text(secret);
        if let std::collections::btree_map::Entry::Vacant(entry) = params.entry(key.clone()) {
            entry.insert("secret");
        } else {
            problems.error(secret.span(), format!("secret `{key}` has the name of a parameter of workflow `{name}`; give the secret another name"));
        }
    }

    // Integer literals a plan cannot hold: JSON numbers are at most 64-bit, so a larger
    // constant would reach the runner as `null`.
    let constants = workflow
        .statements
        .iter()
        .flat_map(|statement| &statement.arguments)
        .filter_map(|argument| match argument {
            Argument::Constant(constant) => Some(constant),
            _ => None,
        })
        .chain(
            workflow
                .params
                .iter()
                .filter_map(|param| param.default.as_ref()),
        );
    for constant in constants {
        if let Some(problem) = wider_than_json(constant) {
            problems.error(syn::spanned::Spanned::span(constant), problem);
        }
    }

    // Names the generated code uses for itself.
    let reserved = workflow
        .params
        .iter()
        .map(|param| (&param.name, "parameter"))
        .chain(
            workflow
                .statements
                .iter()
                .filter_map(|statement| statement.binding.as_ref().map(|node| (node, "node"))),
        );
    for (ident, what) in reserved {
        if crate::names::text(ident).starts_with("__workflow") {
            problems.error(
                ident.span(),
                format!("names starting with `__workflow` are reserved for the code `workflow!` and `#[task]` generate; give this {what} another name"),
            );
        }
    }

    // Node names: the binding, or the task's own name. One name may have one node per arm of
    // a branch; anywhere else a name is declared once.
    let mut nodes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, statement) in workflow.statements.iter().enumerate() {
        let Some(node) = statement.node_name() else {
            continue;
        };
        let key = crate::names::text(node);
        if let Some(kind) = params.get(&key) {
            problems.error(node.span(), format!("node `{key}` has the name of a {kind} of workflow `{name}`; give the node another name"));
            continue;
        }
        let instances = nodes.entry(key.clone()).or_default();
        let one_per_arm = statement.condition.is_some_and(|(branch, arm)| {
            instances.iter().all(|&other| matches!(workflow.statements[other].condition, Some((other_branch, other_arm)) if other_branch == branch && other_arm != arm))
        });
        if instances.is_empty() || one_per_arm {
            instances.push(index);
        } else {
            let hint = if statement.binding.is_none() {
                format!("; name this one: `other_name = {key}(...)`")
            } else {
                String::new()
            };
            problems.error(
                node.span(),
                format!("node `{key}` is declared twice in workflow `{name}`{hint}"),
            );
        }
    }
    // A name produced in several arms has a handle per arm, `name_arm`: no node may have it.
    let ids = node_ids(workflow);
    let mut handles: BTreeMap<String, usize> = BTreeMap::new();
    for (index, id) in ids.iter().enumerate() {
        let handle = crate::names::ident_part(id);
        match handles.get(&handle) {
            Some(&other) if ids[other] != *id => {
                // Report at the plain node's name; the arm's node keeps its handle.
                let (plain, arm) = if id.contains('.') {
                    (other, index)
                } else {
                    (index, other)
                };
                if let Some(node) = workflow.statements[plain].node_name() {
                    let key = crate::names::text(node);
                    let arm_id = &ids[arm];
                    problems.error(
                        node.span(),
                        format!("node `{key}` has the name of the handle of node `{arm_id}` (`{name}::{handle}`, one arm's node of a name produced in several arms); give the node another name"),
                    );
                }
            }
            Some(_) => {}
            None => {
                handles.insert(handle, index);
            }
        }
    }
    if workflow.statements.is_empty() && workflow.branches.is_empty() && before {
        problems.error(
            name.span(),
            format!("workflow `{name}` has no nodes; add one: `node = task(inputs);`"),
        );
    }

    let broken: Vec<String> = workflow
        .broken_nodes
        .iter()
        .map(ToString::to_string)
        .collect();
    let candidates: Vec<&str> = params
        .keys()
        .chain(nodes.keys())
        .map(String::as_str)
        .collect();
    let node_names: Vec<&str> = nodes.keys().map(String::as_str).collect();
    // A task's name used where its node's is meant: which nodes run it.
    let runs_task = |key: &str| -> Option<String> {
        let runners: Vec<String> = workflow
            .statements
            .iter()
            .filter(|statement| {
                statement
                    .task
                    .segments
                    .last()
                    .is_some_and(|segment| crate::names::text(&segment.ident) == key)
            })
            .filter_map(|statement| statement.node_name().map(crate::names::text))
            .filter(|node| node != key)
            .map(|node| format!("`{node}`"))
            .collect();
        (!runners.is_empty()).then(|| {
            format!(
                "; `{key}` is a task, run by node {} (a node is named by its binding: `{} = {key}(...)`)",
                runners.join(" and "),
                runners[0].trim_matches('`')
            )
        })
    };
    let resolver = Resolver {
        workflow,
        nodes: &nodes,
    };
    let mut references = Vec::new();
    for (index, statement) in workflow.statements.iter().enumerate() {
        if statement.arguments.len() > MAX_INPUTS {
            problems.error(
                statement.arguments_span,
                format!(
                    "node passes {} inputs; tasks take at most {MAX_INPUTS}",
                    statement.arguments.len()
                ),
            );
        }
        let mapped: Vec<&Ident> = statement
            .arguments
            .iter()
            .filter_map(|argument| match argument {
                Argument::Each(ident) => Some(ident),
                _ => None,
            })
            .collect();
        for extra in mapped.iter().skip(1) {
            problems.error(
                extra.span(),
                "a node maps over one input: keep one `each(...)` and pass the others whole",
            );
        }
        if let (Some((_, span)), true) = (statement.max_parallel, mapped.is_empty()) {
            problems.error(span, "`.max_parallel(...)` bounds a node that maps over `each(...)` of an input; this node runs once");
        }
        for (position, argument) in statement.arguments.iter().enumerate() {
            let (Argument::Name(ident) | Argument::Each(ident)) = argument else {
                continue;
            };
            let key = crate::names::text(ident);
            if params.contains_key(&key) || broken.contains(&key) {
                continue;
            }
            if !nodes.contains_key(&key) {
                problems.error(
                    ident.span(),
                    format!(
                        "workflow `{name}` has no parameter, secret or node named `{key}`{}",
                        runs_task(&key)
                            .unwrap_or_else(|| did_you_mean(&key, candidates.iter().copied()))
                    ),
                );
                continue;
            }
            match resolver.resolve(&key, statement.condition) {
                Ok(upstream) => {
                    references.extend(upstream.iter().map(|&from| Reference {
                        from,
                        to: index,
                        ident,
                    }));
                    resolution.inputs.insert((index, position), upstream);
                }
                Err(message) => problems.error(ident.span(), message),
            }
        }
        for (position, ident) in statement.after.iter().enumerate() {
            let key = crate::names::text(ident);
            if nodes.contains_key(&key) {
                match resolver.resolve(&key, statement.condition) {
                    Ok(upstream) => {
                        references.extend(upstream.iter().map(|&from| Reference {
                            from,
                            to: index,
                            ident,
                        }));
                        resolution.after.insert((index, position), upstream);
                    }
                    Err(message) => problems.error(ident.span(), message),
                }
            } else if let Some(kind) = params.get(&key) {
                problems.error(
                    ident.span(),
                    format!("`{key}` is a {kind}; `.after(...)` takes node names"),
                );
            } else if !broken.contains(&key) {
                problems.error(
                    ident.span(),
                    format!(
                        "workflow `{name}` has no node named `{key}`{}",
                        runs_task(&key)
                            .unwrap_or_else(|| did_you_mean(&key, node_names.iter().copied()))
                    ),
                );
            }
        }
    }

    // What the workflow returns, when it is meant to be a node of another.
    match (&workflow.output, workflow.returns.first()) {
        (Some(_), None) if workflow.misplaced_return => {}
        (Some(ty), None) => problems.error(
            name.span(),
            format!(
                "workflow `{name}` declares that it returns `{}`; end its body with `return node;`",
                crate::names::token_text(ty)
            ),
        ),
        (None, Some(returned)) => problems.error(
            returned.span(),
            format!("declare what workflow `{name}` returns: `{name}(...) -> Type {{ ... }}`"),
        ),
        (Some(_), Some(returned)) => {
            let key = crate::names::text(returned);
            if let Some(kind) = params.get(&key) {
                problems.error(
                    returned.span(),
                    format!("`{key}` is a {kind}; a workflow returns a node's output"),
                );
            } else if !nodes.contains_key(&key) {
                if !broken.contains(&key) {
                    problems.error(
                        returned.span(),
                        format!(
                            "workflow `{name}` has no node named `{key}`{}",
                            did_you_mean(&key, node_names.iter().copied())
                        ),
                    );
                }
            } else {
                match resolver.resolve(&key, None) {
                    Ok(upstream) => resolution.returned = upstream,
                    Err(message) => problems.error(returned.span(), message),
                }
            }
        }
        (None, None) => {}
    }
    for extra in workflow.returns.iter().skip(1) {
        problems.error(
            extra.span(),
            "a workflow returns one value; remove this `return`",
        );
    }
    for statement in &workflow.statements {
        if statement.task.is_ident(name) {
            problems.error(
                syn::spanned::Spanned::span(&statement.task),
                format!("workflow `{name}` runs `{name}`: a workflow cannot contain itself (it would never finish), nor share its name with a task it runs; rename the workflow or the task"),
            );
        }
    }

    // A branch waits for the value it decides on: every node in its arms depends on it.
    for (branch_index, branch) in workflow.branches.iter().enumerate() {
        let key = crate::names::text(&branch.on);
        let members: Vec<usize> = (0..workflow.statements.len())
            .filter(|&index| {
                workflow.statements[index]
                    .condition
                    .is_some_and(|(branch, _)| branch == branch_index)
            })
            .collect();
        if members.is_empty() {
            problems.error(
                branch.keyword,
                "this branch has no nodes in any arm; remove it or add nodes to its arms",
            );
        }
        if params.get(&key) == Some(&"secret") {
            problems.error(
                branch.on.span(),
                format!("`{key}` is a secret; a branch decides on a parameter or a node's output"),
            );
        } else if params.contains_key(&key) || broken.contains(&key) {
            continue;
        } else if !nodes.contains_key(&key) {
            problems.error(
                branch.on.span(),
                format!(
                    "workflow `{name}` has no parameter or node named `{key}`{}",
                    did_you_mean(&key, candidates.iter().copied())
                ),
            );
        } else {
            match resolver.resolve(&key, None) {
                Ok(upstream) => {
                    for &to in &members {
                        references.extend(upstream.iter().map(|&from| Reference {
                            from,
                            to,
                            ident: &branch.on,
                        }));
                    }
                    resolution.branches.insert(branch_index, upstream);
                }
                Err(message) => problems.error(branch.on.span(), message),
            }
        }
    }

    for cycle in cycles(workflow.statements.len(), &references) {
        let names: Vec<String> = cycle
            .path
            .iter()
            .filter_map(|&node| {
                workflow
                    .statements
                    .get(node)?
                    .node_name()
                    .map(ToString::to_string)
            })
            .collect();
        let message = if names.len() == 2 {
            format!("node `{}` depends on itself", names[0])
        } else {
            format!(
                "workflow `{name}` has a cycle: {}; a workflow must be acyclic, so remove one of these dependencies",
                names
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(" -> ")
            )
        };
        problems.error(cycle.span, message);
    }

    // A declared secret no input reads would be loaded (and required) for nothing: usually a
    // misspelling on one side, like an unused pool. Only when nothing else is wrong: a secret
    // whose declaration is wrong, or a misspelled use, is reported there.
    if before && problems.is_empty() && workflow.broken_nodes.is_empty() {
        let read: std::collections::BTreeSet<String> = workflow
            .statements
            .iter()
            .flat_map(|statement| &statement.arguments)
            .filter_map(|argument| match argument {
                Argument::Name(ident) | Argument::Each(ident) => Some(crate::names::text(ident)),
                _ => None,
            })
            .collect();
        for secret in secrets {
            let key = crate::names::text(secret);
            if !read.contains(&key) && params.get(&key) == Some(&"secret") {
                problems.error(
                    secret.span(),
                    format!("secret `{key}` is declared but no node reads it; pass it to a task input of type `Secret` (`connection = connect({key});`) or remove the declaration"),
                );
            }
        }
    }

    let sound = problems.is_empty();
    diagnostics.push_all(problems);
    sound.then_some(resolution)
}

/// Which nodes a name means, seen from a place in the workflow.
struct Resolver<'a> {
    workflow: &'a Workflow,
    nodes: &'a BTreeMap<String, Vec<usize>>,
}

impl Resolver<'_> {
    /// The nodes `key` refers to from a node with condition `from` (`None` outside branches):
    /// the node itself; within an arm, that arm's node of the name; outside a branch, the nodes
    /// of every arm when every arm produces the name.
    fn resolve(&self, key: &str, from: Option<(usize, usize)>) -> Result<Vec<usize>, String> {
        let instances = self.nodes.get(key).map(Vec::as_slice).unwrap_or(&[]);
        let condition = |index: usize| {
            self.workflow
                .statements
                .get(index)
                .and_then(|statement| statement.condition)
        };
        let Some(&first) = instances.first() else {
            return Ok(Vec::new());
        };
        let Some((branch_index, _)) = condition(first) else {
            return Ok(vec![first]);
        };
        if let Some((from_branch, from_arm)) = from
            && from_branch == branch_index
        {
            return match instances
                .iter()
                .find(|&&index| condition(index) == Some((from_branch, from_arm)))
            {
                Some(&same_arm) => Ok(vec![same_arm]),
                None => Err(format!(
                    "node `{key}` is produced in another arm of this branch; an arm sees only its own nodes and those outside the branch"
                )),
            };
        }
        let Some(branch) = self.workflow.branches.get(branch_index) else {
            return Ok(instances.to_vec());
        };
        let missing: Vec<&str> = branch
            .arms
            .iter()
            .enumerate()
            .filter(|(arm, _)| {
                !instances
                    .iter()
                    .any(|&index| condition(index) == Some((branch_index, *arm)))
            })
            .map(|(_, arm)| arm.label.as_str())
            .collect();
        let on = &branch.on;
        if branch.kind == super::parse::BranchKind::If && branch.arms.len() == 1 {
            return Err(format!(
                "node `{key}` runs only when `{on}` is true; use it inside that branch, or add an `else` arm that also produces `{key}`"
            ));
        }
        if missing.is_empty() {
            Ok(instances.to_vec())
        } else {
            let arms = missing
                .iter()
                .map(|arm| format!("`{arm}`"))
                .collect::<Vec<_>>()
                .join(", ");
            Err(format!(
                "node `{key}` is not produced when `{on}` is {arms}; produce it in every arm to use it after the branch"
            ))
        }
    }
}

/// The node names the plan uses: a node's own name, or `name.arm` for a name produced in
/// several arms of a branch (`snapshot.true`, `snapshot.Full`).
pub fn node_ids(workflow: &Workflow) -> Vec<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for statement in &workflow.statements {
        if let Some(name) = statement.node_name() {
            *counts.entry(crate::names::text(name)).or_default() += 1;
        }
    }
    workflow
        .statements
        .iter()
        .map(|statement| {
            let name = statement
                .node_name()
                .map(crate::names::text)
                .unwrap_or_default();
            match statement.condition {
                Some((branch, arm)) if counts.get(&name).copied().unwrap_or(0) > 1 => {
                    let label = workflow
                        .branches
                        .get(branch)
                        .and_then(|branch| branch.arms.get(arm))
                        .map_or_else(|| format!("arm{arm}"), |arm_syntax| arm_id(arm_syntax, arm));
                    format!("{name}.{label}")
                }
                _ => name,
            }
        })
        .collect()
}

/// A short identifier for an arm: `true`, `false`, or the last name in its pattern
/// (`Mode::Full` gives `Full`, an or-pattern its first alternative's); `other` for `_`.
fn arm_id(arm: &super::parse::Arm, index: usize) -> String {
    match &arm.pattern {
        None => arm.label.clone(),
        Some(pattern) => pattern_id(pattern).unwrap_or_else(|| format!("arm{index}")),
    }
}

fn pattern_id(pattern: &syn::Pat) -> Option<String> {
    use syn::Pat;
    let path = match pattern {
        Pat::Path(path) => &path.path,
        Pat::TupleStruct(tuple) => &tuple.path,
        Pat::Struct(structure) => &structure.path,
        Pat::Ident(ident) => {
            return Some(crate::names::ident_part(&crate::names::text(&ident.ident)));
        }
        Pat::Wild(_) => return Some("other".to_owned()),
        Pat::Or(alternatives) => return alternatives.cases.first().and_then(pattern_id),
        Pat::Lit(literal) => {
            let text = crate::names::token_text(literal);
            return text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                .then_some(text);
        }
        _ => return None,
    };
    path.segments
        .last()
        .map(|segment| crate::names::text(&segment.ident))
}

struct Cycle {
    /// Nodes along the cycle, the first repeated at the end.
    path: Vec<usize>,
    /// The reference that closes the cycle.
    span: Span,
}

/// One cycle per strongly connected component that has one, found from the component's
/// first-declared node, so the report is stable and names each tangle once.
fn cycles(count: usize, references: &[Reference]) -> Vec<Cycle> {
    let mut downstream: Vec<Vec<(usize, Span)>> = vec![Vec::new(); count];
    for reference in references {
        if let Some(edges) = downstream.get_mut(reference.from) {
            edges.push((reference.to, reference.ident.span()));
        }
    }
    let components = strongly_connected(&downstream);
    let mut found = Vec::new();
    for component in components {
        let Some(&start) = component.iter().min() else {
            continue;
        };
        let in_component = |node: usize| component.contains(&node);
        let self_loop = downstream[start].iter().find(|(to, _)| *to == start);
        if component.len() == 1 {
            if let Some((_, span)) = self_loop {
                found.push(Cycle {
                    path: vec![start, start],
                    span: *span,
                });
            }
            continue;
        }
        // Breadth-first from `start` inside the component back to `start`: the shortest cycle.
        let mut previous: BTreeMap<usize, (usize, Span)> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closing = None;
        'search: while let Some(node) = queue.pop_front() {
            for &(next, span) in &downstream[node] {
                if !in_component(next) {
                    continue;
                }
                if next == start {
                    closing = Some((node, span));
                    break 'search;
                }
                if next != start && !previous.contains_key(&next) {
                    previous.insert(next, (node, span));
                    queue.push_back(next);
                }
            }
        }
        let Some((last, span)) = closing else {
            continue;
        };
        let mut path = vec![last];
        let mut node = last;
        while node != start {
            let Some(&(before, _)) = previous.get(&node) else {
                break;
            };
            path.push(before);
            node = before;
        }
        path.reverse();
        path.push(start);
        found.push(Cycle { path, span });
    }
    found.sort_by_key(|cycle| cycle.path.first().copied());
    found
}

/// Tarjan's algorithm, iterative so that deep graphs cannot overflow the stack.
fn strongly_connected(downstream: &[Vec<(usize, Span)>]) -> Vec<Vec<usize>> {
    let count = downstream.len();
    let mut index_of = vec![usize::MAX; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next_index = 0;
    for root in 0..count {
        if index_of[root] != usize::MAX {
            continue;
        }
        let mut work = vec![(root, 0usize)];
        while let Some(&mut (node, ref mut edge)) = work.last_mut() {
            if *edge == 0 && index_of[node] == usize::MAX {
                index_of[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&(next, _)) = downstream[node].get(*edge) {
                *edge += 1;
                if index_of[next] == usize::MAX {
                    work.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index_of[next]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index_of[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn messages(input: proc_macro2::TokenStream) -> Vec<String> {
        let mut diagnostics = Diagnostics::new();
        let workflow = super::super::parse::workflow(input, &mut diagnostics).unwrap();
        check(&workflow, &[], &mut diagnostics);
        diagnostics.messages()
    }

    #[test]
    fn a_sound_workflow_passes() {
        assert!(
            messages(quote!(w(day: D) { c = t(a, b); a = t(day); b = t(a).after(a); })).is_empty()
        );
    }

    #[test]
    fn cycles_name_their_whole_path() {
        assert_eq!(
            messages(quote!(w() { a = t(c); b = t(a); c = t(b); d = t(c); })),
            [
                "workflow `w` has a cycle: `a` -> `b` -> `c` -> `a`; a workflow must be acyclic, so remove one of these dependencies"
            ]
        );
        assert_eq!(
            messages(quote!(w() { a = t(a); })),
            ["node `a` depends on itself"]
        );
        assert_eq!(
            messages(quote!(w() { a = t().after(b); b = t().after(a); x = t(y); y = t(x); })).len(),
            2
        );
    }

    #[test]
    fn names_are_checked_with_suggestions() {
        let messages = messages(
            quote!(w(day: D, day: D) { orders = t(dya); load(ordres).after(day); orders = t(); }),
        );
        assert_eq!(
            messages,
            [
                "parameter `day` is declared twice in workflow `w`",
                "node `orders` is declared twice in workflow `w`",
                "workflow `w` has no parameter, secret or node named `dya` (did you mean `day`?)",
                "workflow `w` has no parameter, secret or node named `ordres` (did you mean `orders`?)",
                "`day` is a parameter; `.after(...)` takes node names",
            ]
        );
    }

    #[test]
    fn deep_chains_do_not_overflow() {
        let count = 20_000;
        let downstream: Vec<Vec<(usize, Span)>> = (0..count)
            .map(|node| {
                if node + 1 < count {
                    vec![(node + 1, Span::call_site())]
                } else {
                    vec![(0, Span::call_site())]
                }
            })
            .collect();
        let components = strongly_connected(&downstream);
        assert_eq!(components.len(), 1);
        assert_eq!(components[0].len(), count);
    }
}
