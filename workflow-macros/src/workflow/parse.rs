//! The syntax of `workflow!`: our own tree, keeping the user's tokens for error spans.
//!
//! ```text
//! workflow  := attribute* visibility? name '(' parameters? ')' '{' statement* '}'
//! parameter := name ':' type ('=' expression)?
//! statement := (node '=')? task-path '(' argument,* ')' ('.' 'after' '(' node,* ')')* ';'
//! argument  := name | literal
//! ```

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, Lit, Path, Token, Type, Visibility, braced, parenthesized};

use crate::diag::Diagnostics;

pub struct Workflow {
    pub attributes: Vec<Attribute>,
    pub visibility: Visibility,
    pub name: Ident,
    pub params: Vec<Param>,
    /// Every node, those inside branches included (they carry their condition).
    pub statements: Vec<Statement>,
    pub branches: Vec<Branch>,
    /// `-> Type`: what the workflow returns when used as a node of another.
    pub output: Option<Type>,
    /// `return name;` statements (one is expected, with `-> Type`).
    pub returns: Vec<Ident>,
    /// Names bound by statements that did not parse: known, so that references to them are
    /// not reported a second time as unknown names.
    pub broken_nodes: Vec<Ident>,
    /// Whether a `return` was written inside a branch (reported already): the workflow's
    /// missing `return` is then not reported again.
    pub misplaced_return: bool,
    /// Where the invocation is (line × 10,000 + column; 0 when unknown): the default of the
    /// struct's hidden const parameter, so that a workflow pasted twice in one module is one
    /// "defined multiple times" error instead of one conflicting impl per trait.
    pub location: u64,
}

pub struct Param {
    pub name: Ident,
    pub ty: Type,
    pub default: Option<Expr>,
}

pub struct Statement {
    /// `orders` in `orders = extract_orders(day);`
    pub binding: Option<Ident>,
    pub task: Path,
    /// The span of `( ... )` around the arguments.
    pub arguments_span: Span,
    pub arguments: Vec<Argument>,
    pub after: Vec<Ident>,
    /// `.max_parallel(N)`: how many elements of a mapped node run at once.
    pub max_parallel: Option<(u32, Span)>,
    /// For a node inside a branch: the branch's index and the arm's index.
    pub condition: Option<(usize, usize)>,
}

/// `if flag { ... } else { ... }` or `match value { Pattern => { ... } ... }`.
pub struct Branch {
    /// The `if` or `match` keyword.
    pub keyword: Span,
    pub kind: BranchKind,
    /// The parameter or node the branch decides on.
    pub on: Ident,
    pub arms: Vec<Arm>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BranchKind {
    If,
    Match,
}

pub struct Arm {
    /// `true`/`false` for `if`; for `match`, the pattern as written.
    pub label: String,
    /// The `match` arm's pattern.
    pub pattern: Option<syn::Pat>,
}

pub enum Argument {
    /// A parameter or node name.
    Name(Ident),
    /// `each(name)`: the task runs once per element of that parameter or node.
    Each(Ident),
    /// A constant: a literal, possibly negated.
    Constant(Expr),
}

impl Workflow {
    /// The statements that produce `name`: one, or one per arm of a branch.
    pub fn nodes_named(&self, name: &str) -> Vec<usize> {
        self.statements
            .iter()
            .enumerate()
            .filter(|(_, statement)| {
                statement
                    .node_name()
                    .is_some_and(|node| crate::names::text(node) == name)
            })
            .map(|(index, _)| index)
            .collect()
    }
}

impl Statement {
    /// The node's name: its binding, or else the task's own name.
    pub fn node_name(&self) -> Option<&Ident> {
        self.binding
            .as_ref()
            .or_else(|| self.task.segments.last().map(|segment| &segment.ident))
    }
}

impl Argument {
    pub fn span(&self) -> Span {
        match self {
            Argument::Name(name) | Argument::Each(name) => name.span(),
            Argument::Constant(constant) => constant.span(),
        }
    }
}

/// Parses the header strictly and each statement on its own, so that one bad statement does
/// not hide the problems of the others.
pub fn workflow(input: TokenStream, diagnostics: &mut Diagnostics) -> Option<Workflow> {
    let header = match syn::parse2::<Header>(input) {
        Ok(header) => header,
        Err(error) => {
            diagnostics.push(error);
            return None;
        }
    };
    let mut statements = Vec::new();
    let mut branches = Vec::new();
    let mut broken_nodes = Vec::new();
    // `return` inside arms: one mistake however many arms repeat it, reported at the first.
    let mut misplaced_returns: Vec<Span> = Vec::new();
    let mut returns = Vec::new();
    for chunk in split_statements(header.body) {
        if starts_with_return(&chunk.tokens) {
            match syn::parse2::<Return>(chunk.tokens) {
                Ok(Return(name)) => returns.push(name),
                Err(error) => diagnostics.push(error),
            }
            if let Some(span) = chunk.missing_semicolon {
                diagnostics.error(span, "expected `;` after `return`");
            }
            continue;
        }
        if chunk.is_branch {
            match syn::parse2::<BranchSyntax>(chunk.tokens) {
                Ok(branch) => {
                    let index = branches.len();
                    for (arm, body) in branch.bodies.into_iter().enumerate() {
                        for inner in split_statements(body) {
                            if starts_with_return(&inner.tokens) {
                                let span = inner
                                    .tokens
                                    .into_iter()
                                    .next()
                                    .map_or(branch.branch.keyword, |token| token.span());
                                misplaced_returns.push(span);
                                continue;
                            }
                            if inner.is_branch {
                                let span = inner
                                    .tokens
                                    .into_iter()
                                    .next()
                                    .map_or(branch.branch.keyword, |token| token.span());
                                diagnostics.error(span, "branches cannot be nested; move the inner decision into its own `match` on a combined value, or into a task");
                                continue;
                            }
                            parse_node(
                                inner,
                                Some((index, arm)),
                                &mut statements,
                                &mut broken_nodes,
                                diagnostics,
                            );
                        }
                    }
                    branches.push(branch.branch);
                }
                Err(error) => diagnostics.push(error),
            }
            continue;
        }
        parse_node(chunk, None, &mut statements, &mut broken_nodes, diagnostics);
    }
    if let Some(first) = misplaced_returns.first() {
        let others = match misplaced_returns.len() - 1 {
            0 => String::new(),
            1 => " (here and once more)".to_owned(),
            more => format!(" (here and {more} more times)"),
        };
        diagnostics.error(
            *first,
            format!("`return` goes at the end of the workflow's body, outside branches{others}; produce one name in every arm and return it after the branch"),
        );
    }
    Some(Workflow {
        attributes: header.attributes,
        visibility: header.visibility,
        name: header.name,
        params: header.params,
        statements,
        branches,
        output: header.output,
        returns,
        broken_nodes,
        misplaced_return: !misplaced_returns.is_empty(),
        location: 0,
    })
}

fn starts_with_return(tokens: &TokenStream) -> bool {
    matches!(tokens.clone().into_iter().next(), Some(TokenTree::Ident(word)) if word == "return")
}

/// `return name;`
struct Return(Ident);

impl Parse for Return {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        input.parse::<Token![return]>()?;
        let name: Ident = input.parse().map_err(|error| syn::Error::new(error.span(), "`return` takes the name of the node whose output the workflow returns: `return activity;`"))?;
        if !input.is_empty() {
            return Err(input.error("`return` takes one node name: `return activity;`"));
        }
        Ok(Return(name))
    }
}

/// Parses one node statement; a broken one still declares its name.
fn parse_node(
    chunk: Chunk,
    condition: Option<(usize, usize)>,
    statements: &mut Vec<Statement>,
    broken_nodes: &mut Vec<Ident>,
    diagnostics: &mut Diagnostics,
) {
    match syn::parse2::<Statement>(chunk.tokens.clone()) {
        Ok(mut statement) => {
            statement.condition = condition;
            statements.push(statement);
        }
        Err(error) => {
            diagnostics.push(error);
            broken_nodes.extend(bound_name(chunk.tokens));
        }
    }
    if let Some(span) = chunk.missing_semicolon {
        diagnostics.error(span, "expected `;` after this node");
    }
}

/// A branch with the tokens of each arm's body, parsed into statements afterwards.
struct BranchSyntax {
    branch: Branch,
    bodies: Vec<TokenStream>,
}

impl Parse for BranchSyntax {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let keyword = <Ident as syn::ext::IdentExt>::parse_any(input)?;
        let on: Ident = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                format!("a branch decides on a parameter or node name: `{keyword} name {{ ... }}`"),
            )
        })?;
        if !input.peek(syn::token::Brace) {
            return Err(input.error(format!("a branch decides on one parameter or node name: `{keyword} name {{ ... }}`; compute anything else in a task")));
        }
        let mut arms = Vec::new();
        let mut bodies = Vec::new();
        if keyword == "if" {
            let then;
            braced!(then in input);
            arms.push(Arm {
                label: "true".to_owned(),
                pattern: None,
            });
            bodies.push(then.parse()?);
            if input.peek(Token![else]) {
                let word: Token![else] = input.parse()?;
                if input.peek(Token![if]) {
                    return Err(syn::Error::new(
                        word.span,
                        "`else if` is not supported: decide on an enum with `match` for more than two arms",
                    ));
                }
                let otherwise;
                braced!(otherwise in input);
                arms.push(Arm {
                    label: "false".to_owned(),
                    pattern: None,
                });
                bodies.push(otherwise.parse()?);
            }
            let kind = BranchKind::If;
            return Ok(BranchSyntax {
                branch: Branch {
                    keyword: keyword.span(),
                    kind,
                    on,
                    arms,
                },
                bodies,
            });
        }
        let content;
        braced!(content in input);
        while !content.is_empty() {
            let pattern = syn::Pat::parse_multi_with_leading_vert(&content)?;
            if content.peek(Token![if]) {
                return Err(content.error(
                    "match guards are not supported: a branch's arms are decided by patterns alone",
                ));
            }
            content.parse::<Token![=>]>()?;
            if !content.peek(syn::token::Brace) {
                return Err(content.error(
                    "write the arm's nodes in braces: `Pattern => { node = task(inputs); }`",
                ));
            }
            let body;
            braced!(body in content);
            arms.push(Arm {
                label: crate::names::token_text(&pattern),
                pattern: Some(pattern),
            });
            bodies.push(body.parse()?);
            if content.peek(Token![,]) {
                content.parse::<Token![,]>()?;
            }
        }
        if arms.is_empty() {
            return Err(syn::Error::new(
                on.span(),
                format!("`match {on}` needs at least one arm"),
            ));
        }
        Ok(BranchSyntax {
            branch: Branch {
                keyword: keyword.span(),
                kind: BranchKind::Match,
                on,
                arms,
            },
            bodies,
        })
    }
}

/// `name` when a statement starts with `name =` (and not `==` or `=>`).
fn bound_name(tokens: TokenStream) -> Option<Ident> {
    let mut tokens = tokens.into_iter();
    let (Some(TokenTree::Ident(name)), Some(TokenTree::Punct(equals))) =
        (tokens.next(), tokens.next())
    else {
        return None;
    };
    (equals.as_char() == '=' && equals.spacing() == proc_macro2::Spacing::Alone).then_some(name)
}

struct Header {
    attributes: Vec<Attribute>,
    visibility: Visibility,
    name: Ident,
    params: Vec<Param>,
    output: Option<Type>,
    body: TokenStream,
}

impl Parse for Header {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attributes = input.call(Attribute::parse_outer)?;
        let visibility: Visibility = input.parse()?;
        if input.peek(Token![fn]) {
            return Err(input.error(
                "write the workflow without `fn`: `workflow! { name(param: Type) { ... } }`",
            ));
        }
        let name: Ident = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected the workflow's name, e.g. `daily_ingest(day: NaiveDate) { ... }`",
            )
        })?;
        if !input.peek(syn::token::Paren) {
            return Err(input.error(format!("expected `(` after the workflow name: `{name}(param: Type, ...)`, or `{name}()` without parameters")));
        }
        let content;
        parenthesized!(content in input);
        let params = Punctuated::<Param, Token![,]>::parse_terminated(&content)?
            .into_iter()
            .collect();
        let output = if input.peek(Token![->]) {
            input.parse::<Token![->]>()?;
            Some(input.parse::<Type>()?)
        } else {
            None
        };
        if !input.peek(syn::token::Brace) {
            return Err(input.error(format!(
                "expected the body of workflow `{name}` in braces: `{{ node = task(inputs); ... }}`"
            )));
        }
        let body;
        braced!(body in input);
        let body: TokenStream = body.parse()?;
        if !input.is_empty() {
            return Err(input.error(
                "unexpected tokens after the workflow's body; declare one workflow per `workflow!`",
            ));
        }
        Ok(Header {
            attributes,
            visibility,
            name,
            params,
            output,
            body,
        })
    }
}

impl Parse for Param {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name: Ident = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected a parameter name, e.g. `day: NaiveDate`",
            )
        })?;
        if !input.peek(Token![:]) {
            return Err(syn::Error::new(
                name.span(),
                format!("parameter `{name}` needs a type: `{name}: Type`"),
            ));
        }
        input.parse::<Token![:]>()?;
        let ty: Type = input.parse()?;
        if let Type::ImplTrait(bound) = &ty {
            return Err(syn::Error::new_spanned(
                bound,
                "a workflow parameter has one concrete type (`impl Trait` would leave `--param` nothing to parse into); write the type, e.g. `day: NaiveDate`",
            ));
        }
        let default = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Param { name, ty, default })
    }
}

impl Parse for Statement {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let binding = if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let binding: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            Some(binding)
        } else {
            None
        };
        let task: Path = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected a node: `name = task(inputs);` or `task(inputs);`",
            )
        })?;
        if !input.peek(syn::token::Paren) {
            return Err(input.error(format!(
                "expected `(` with the inputs of `{}`; a task without inputs is called as `{}()`",
                crate::names::token_text(&task),
                crate::names::token_text(&task)
            )));
        }
        let content;
        let parens = parenthesized!(content in input);
        let arguments = Punctuated::<Argument, Token![,]>::parse_terminated(&content)?
            .into_iter()
            .collect();
        let mut after = Vec::new();
        let mut max_parallel = None;
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            let method: Ident = input.parse()?;
            if method == "max_parallel" {
                let content;
                parenthesized!(content in input);
                let count: syn::LitInt = content.parse().map_err(|error| {
                    syn::Error::new(
                        error.span(),
                        "`.max_parallel(...)` takes a whole number, e.g. `.max_parallel(8)`",
                    )
                })?;
                if max_parallel.is_some() {
                    return Err(syn::Error::new(
                        method.span(),
                        "`.max_parallel(...)` is given twice; keep one",
                    ));
                }
                match count.base10_parse::<u32>() {
                    Ok(count) if count > 0 => max_parallel = Some((count, method.span())),
                    _ => {
                        return Err(syn::Error::new(
                            count.span(),
                            "`.max_parallel(...)` takes a whole number from 1 to 4294967295",
                        ));
                    }
                }
                continue;
            }
            if method != "after" {
                return Err(syn::Error::new(
                    method.span(),
                    format!(
                        "unknown node modifier `{method}`{}; nodes take `.after(node, ...)` and `.max_parallel(n)`",
                        crate::names::did_you_mean(&method.to_string(), ["after", "max_parallel"])
                    ),
                ));
            }
            let content;
            parenthesized!(content in input);
            // Paths are parsed to be refused with a reason: `.after` orders nodes of this
            // workflow; waiting for another workflow is a trigger.
            let paths = Punctuated::<syn::Path, Token![,]>::parse_terminated(&content)?;
            let mut names = Vec::new();
            for path in paths {
                match path.get_ident() {
                    Some(name) => names.push(name.clone()),
                    None => {
                        // `upstream::orders` most likely means the workflow `upstream`.
                        let workflow = Path {
                            leading_colon: path.leading_colon,
                            segments: path
                                .segments
                                .iter()
                                .take(path.segments.len().saturating_sub(1))
                                .cloned()
                                .collect(),
                        };
                        let workflow = if workflow.segments.is_empty() {
                            crate::names::token_text(&path)
                        } else {
                            crate::names::token_text(&workflow)
                        };
                        return Err(syn::Error::new_spanned(
                            &path,
                            format!(
                                "`.after(...)` takes names of this workflow's nodes, not `{}`; to run after another workflow succeeds, give this workflow `#[trigger(after = {workflow})]`",
                                crate::names::token_text(&path),
                            ),
                        ));
                    }
                }
            }
            if names.is_empty() {
                return Err(syn::Error::new(
                    method.span(),
                    "`.after()` needs at least one node name",
                ));
            }
            after.extend(names);
        }
        if !input.is_empty() {
            return Err(input.error("expected `;` or `.after(...)` after the node's inputs"));
        }
        Ok(Statement {
            binding,
            task,
            arguments_span: parens.span.join(),
            arguments,
            max_parallel,
            condition: None,
            after,
        })
    }
}

impl Parse for Argument {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident)
            && input.peek2(syn::token::Paren)
            && input
                .fork()
                .parse::<Ident>()
                .is_ok_and(|word| word == "each")
        {
            input.parse::<Ident>()?;
            let content;
            parenthesized!(content in input);
            let name: Ident = content.parse().map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "`each(...)` takes the name of a parameter or node that holds a collection",
                )
            })?;
            if !content.is_empty() {
                return Err(content.error("`each(...)` takes one name"));
            }
            return Ok(Argument::Each(name));
        }
        if input.peek(Ident)
            && (input.peek2(Token![,])
                || input
                    .cursor()
                    .token_tree()
                    .is_some_and(|(_, rest)| rest.eof()))
        {
            return Ok(Argument::Name(input.parse()?));
        }
        let expression: Expr = input.parse()?;
        match &expression {
            Expr::Lit(literal) if !matches!(literal.lit, Lit::Verbatim(_)) => {
                Ok(Argument::Constant(expression))
            }
            Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Neg(_),
                expr,
                ..
            }) if matches!(
                &**expr,
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Int(_) | Lit::Float(_),
                    ..
                })
            ) =>
            {
                Ok(Argument::Constant(expression))
            }
            other => Err(syn::Error::new(
                other.span(),
                "a node input must be a parameter name, a node name or a literal; compute anything else in a task",
            )),
        }
    }
}

struct Chunk {
    tokens: TokenStream,
    /// Starts with `if` or `match`.
    is_branch: bool,
    /// Where a `;` is missing at the end of the body.
    missing_semicolon: Option<Span>,
}

/// Splits the body at top-level `;`. Each chunk is parsed alone.
fn split_statements(body: TokenStream) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = TokenStream::new();
    let mut last_span = None;
    let mut tokens = body.into_iter().peekable();
    while let Some(token) = tokens.next() {
        // A branch runs to the end of its last block (after `else` for an `if`).
        if current.is_empty()
            && matches!(&token, TokenTree::Ident(word) if word == "if" || word == "match")
        {
            let is_if = matches!(&token, TokenTree::Ident(word) if word == "if");
            current.extend([token]);
            while let Some(next) = tokens.next() {
                let is_block = matches!(&next, TokenTree::Group(group) if group.delimiter() == proc_macro2::Delimiter::Brace);
                current.extend([next]);
                if is_block {
                    let continues = is_if
                        && matches!(tokens.peek(), Some(TokenTree::Ident(word)) if word == "else");
                    if !continues {
                        break;
                    }
                }
            }
            if matches!(tokens.peek(), Some(TokenTree::Punct(punct)) if punct.as_char() == ';') {
                tokens.next();
            }
            chunks.push(Chunk {
                tokens: std::mem::take(&mut current),
                missing_semicolon: None,
                is_branch: true,
            });
            continue;
        }
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == ';' => {
                if !current.is_empty() {
                    chunks.push(Chunk {
                        tokens: std::mem::take(&mut current),
                        missing_semicolon: None,
                        is_branch: false,
                    });
                }
            }
            _ => {
                last_span = Some(token.span());
                current.extend([token]);
            }
        }
    }
    if !current.is_empty() {
        chunks.push(Chunk {
            tokens: current,
            missing_semicolon: last_span,
            is_branch: false,
        });
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn parses_the_whole_surface() {
        let mut diagnostics = Diagnostics::new();
        let workflow = workflow(
            quote! {
                /// Docs.
                pub daily(day: NaiveDate, full: bool = false, limit: i64 = -1,) {
                    orders = extract::orders(day, "eu", -3);
                    load(orders).after(a, b).after(c);
                }
            },
            &mut diagnostics,
        )
        .unwrap();
        assert!(diagnostics.is_empty());
        assert_eq!(workflow.name, "daily");
        assert_eq!(workflow.params.len(), 3);
        assert_eq!(workflow.statements.len(), 2);
        assert_eq!(workflow.statements[0].node_name().unwrap(), "orders");
        assert_eq!(workflow.statements[0].arguments.len(), 3);
        assert_eq!(workflow.statements[1].node_name().unwrap(), "load");
        assert_eq!(workflow.statements[1].after.len(), 3);
    }

    #[test]
    fn bad_statements_are_reported_together() {
        let mut diagnostics = Diagnostics::new();
        let workflow = workflow(
            quote! {
                w() {
                    a = t(1 + 2);
                    b = t(x).before(a);
                    c = t(x)
                }
            },
            &mut diagnostics,
        );
        let workflow = workflow.unwrap();
        assert_eq!(workflow.statements.len(), 1);
        assert_eq!(
            workflow
                .broken_nodes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        let messages = diagnostics.messages();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].contains("parameter name, a node name or a literal"));
        assert!(messages[1].contains("unknown node modifier `before`"));
        assert_eq!(messages[2], "expected `;` after this node");
    }
}
