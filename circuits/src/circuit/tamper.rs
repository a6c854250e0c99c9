//! Test-only witness overrides: a malicious prover for must-fail tests.
//!
//! The honest witness generation fills every cell consistently, so a test that only
//! changes the public inputs never exercises a custom gate. This module lets a test
//! replace individual witness values while the circuit is laid out, and derives the
//! public inputs *from the tampered witness*, so that a test fails only through the
//! constraint it aims at:
//!
//! - **Value overrides** ([`Tamper::value`]) replace a value at a `tamper!` site in
//!   [`super::gadgets`] ([`Site`]) before it is assigned: everything computed from it
//!   (hashes, points, copies) follows, as it would for a prover running its own code.
//! - **Cell overrides** ([`Tamper::cell`]) replace the value written into one cell
//!   (by annotation) inside any region, halo2_gadgets' chips included; the values the
//!   chip computes from it do not follow (copies of the cell then fail too).
//!
//! Both are selected by a *scope*: a substring of the cell's namespace path, e.g.
//! `"action 1/note tree path"` (namespaces joined by `/`, then the region name).
//!
//! [`run`] synthesizes the circuit once to record the values it copies into the
//! instance column, then verifies it against exactly those public inputs with
//! [`MockProver`]. The circuits use [`Planner`] as their floor planner under
//! `cfg(test)` only: it forwards every call to V1 unchanged (the constraint system,
//! layout and keys are the same), and records or tampers only while [`run`] is active.
//! None of this exists outside `cfg(test)`.

use std::{
    any::Any,
    cell::RefCell,
    collections::{BTreeMap, HashMap},
    fmt,
    marker::PhantomData,
    rc::Rc,
};

use halo2_proofs::{
    arithmetic::Field,
    circuit::Value,
    dev::{FailureLocation, MockProver, VerifyFailure},
    plonk::{
        Advice, Any as AnyColumn, Assigned, Assignment, Circuit, Column, Error, Fixed,
        FloorPlanner, Instance, Selector,
    },
};
use pasta_curves::pallas;

use super::K;

/// A `tamper!` site in [`super::gadgets`], with the type of the value it overrides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Site {
    /// The position decomposition: `(z_0..=z_D, b_0..b_D)`, both
    /// `Vec<Value<pallas::Base>>`.
    Position,
    /// A Merkle level's direction bit when witnessed in place (registry paths).
    SwapBit(usize),
    /// A Merkle level's `left` hash input.
    SwapLeft(usize),
    /// A Merkle level's `right` hash input.
    SwapRight(usize),
    /// The whole [`super::gadgets::ActionGateWitness`] before the gate is assigned.
    ActionGate,
    /// The action gate's nullifier tag.
    NfTag,
    /// The action gate's spent value.
    SpentValue,
    /// The sum of a field addition.
    Sum,
    /// The `i`th private field element witnessed together (`AddConfig::witness`).
    Witness(usize),
    /// The holdings circuit's `eq` flag of a comparison (`Value<pallas::Base>`).
    Eq,
    /// The holdings circuit's `last` flag of a comparison (`Value<pallas::Base>`).
    Last,
    /// The holdings circuit's `counted` flag of a slot (`Value<pallas::Base>`).
    Counted,
    /// The holdings circuit's limbs of a compared value
    /// (`Value<(pallas::Base, pallas::Base)>`, high then low).
    Limbs,
    /// The holdings circuit's `t` of a comparison (`Value<pallas::Base>`).
    T,
    /// The holdings circuit's counted value of a slot (`Value<pallas::Base>`).
    CountedValue,
    /// The holdings circuit's tag of a slot (`Value<pallas::Base>`).
    Tag,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Value(Site),
    Cell(String),
}

/// One override: where, and how the value changes.
#[derive(Clone)]
pub(crate) struct Tamper {
    scope: String,
    target: Target,
    edit: Edit,
}

/// How a tamper changes the value it applies to (of the type its site holds).
type Edit = Rc<dyn Fn(&mut dyn Any)>;

impl fmt::Debug for Tamper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} in {:?}", self.target, self.scope)
    }
}

impl Tamper {
    /// Overrides the value at `site` (of type `T`, see [`Site`]) under `scope`.
    pub(crate) fn value<T: 'static>(
        scope: impl Into<String>,
        site: Site,
        edit: impl Fn(&mut T) + 'static,
    ) -> Self {
        Tamper {
            scope: scope.into(),
            target: Target::Value(site),
            edit: Rc::new(move |v: &mut dyn Any| {
                edit(v.downcast_mut::<T>().unwrap_or_else(|| {
                    panic!("{site:?} does not hold a {}", std::any::type_name::<T>())
                }))
            }),
        }
    }

    /// Overrides the value written into the cells annotated `annotation` under `scope`.
    pub(crate) fn cell(
        scope: impl Into<String>,
        annotation: &str,
        edit: impl Fn(&mut pallas::Base) + 'static,
    ) -> Self {
        Tamper {
            scope: scope.into(),
            target: Target::Cell(annotation.to_owned()),
            edit: Rc::new(move |v: &mut dyn Any| {
                edit(v.downcast_mut().expect("a cell holds a pallas::Base"))
            }),
        }
    }

    fn applies(&self, target: &Target, path: &str) -> bool {
        &self.target == target && !self.scope.is_empty() && path.contains(&self.scope)
    }
}

/// What the active [`run`] knows about the layout so far.
#[derive(Default)]
struct State {
    tampers: Vec<(Tamper, usize)>,
    namespaces: Vec<String>,
    region: Option<String>,
    /// The full path of each region, by region index (as `MockProver` numbers them).
    regions: Vec<String>,
    advice: HashMap<(Column<AnyColumn>, usize), pallas::Base>,
    /// The values copied into each row of the instance column.
    exposed: BTreeMap<usize, Vec<pallas::Base>>,
}

impl State {
    fn path(&self) -> String {
        format!(
            "{}/{}",
            self.namespaces.join("/"),
            self.region.as_deref().unwrap_or_default()
        )
    }

    fn apply(&mut self, target: &Target, value: &mut dyn Any) -> bool {
        let path = self.path();
        let mut hit = false;
        for (t, hits) in &mut self.tampers {
            if t.applies(target, &path) {
                (t.edit)(value);
                *hits += 1;
                hit = true;
            }
        }
        hit
    }
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.with(|s| s.borrow_mut().as_mut().map(f))
}

/// The `tamper!` hook: `value`, overridden by the active tampers of `site`.
pub(crate) fn hook<T: 'static>(site: Site, mut value: T) -> T {
    with_state(|s| s.apply(&Target::Value(site), &mut value));
    value
}

fn to_base<F: Field>(f: F) -> Option<pallas::Base> {
    (&f as &dyn Any).downcast_ref::<pallas::Base>().copied()
}

fn from_base<F: Field>(b: pallas::Base) -> F {
    *(&b as &dyn Any)
        .downcast_ref::<F>()
        .expect("tampering a circuit over pallas::Base")
}

/// The floor planner `P`, with every assignment passing through the active [`run`].
#[derive(Debug)]
pub struct Planner<P>(PhantomData<P>);

impl<P: FloorPlanner> FloorPlanner for Planner<P> {
    fn synthesize<F: Field, CS: Assignment<F>, C: Circuit<F>>(
        cs: &mut CS,
        circuit: &C,
        config: C::Config,
        constants: Vec<Column<Fixed>>,
    ) -> Result<(), Error> {
        let mut cs = Tampering {
            cs,
            _field: PhantomData,
        };
        P::synthesize(&mut cs, circuit, config, constants)
    }
}

struct Tampering<'a, F, CS> {
    cs: &'a mut CS,
    _field: PhantomData<F>,
}

impl<F: Field, CS: Assignment<F>> Assignment<F> for Tampering<'_, F, CS> {
    fn enter_region<NR, N>(&mut self, name_fn: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        let name: String = name_fn().into();
        with_state(|s| {
            s.region = Some(name.clone());
            let path = s.path();
            s.regions.push(path);
        });
        self.cs.enter_region(|| name);
    }

    fn exit_region(&mut self) {
        with_state(|s| s.region = None);
        self.cs.exit_region();
    }

    fn enable_selector<A, AR>(
        &mut self,
        annotation: A,
        selector: &Selector,
        row: usize,
    ) -> Result<(), Error>
    where
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.cs.enable_selector(annotation, selector, row)
    }

    fn query_instance(&self, column: Column<Instance>, row: usize) -> Result<Value<F>, Error> {
        self.cs.query_instance(column, row)
    }

    fn assign_advice<V, VR, A, AR>(
        &mut self,
        annotation: A,
        column: Column<Advice>,
        row: usize,
        to: V,
    ) -> Result<(), Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<F>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        let annotation: String = annotation().into();
        let name = annotation.clone();
        let key = (Column::<AnyColumn>::from(column), row);
        self.cs.assign_advice(
            || name,
            column,
            row,
            move || {
                to().map(|v| {
                    let v: Assigned<F> = v.into();
                    let Some(mut b) = to_base(v.evaluate()) else {
                        return v;
                    };
                    let target = Target::Cell(annotation);
                    let tampered = with_state(|s| {
                        let hit = s.apply(&target, &mut b);
                        s.advice.insert(key, b);
                        hit
                    });
                    if tampered == Some(true) {
                        Assigned::Trivial(from_base(b))
                    } else {
                        v
                    }
                })
            },
        )
    }

    fn assign_fixed<V, VR, A, AR>(
        &mut self,
        annotation: A,
        column: Column<Fixed>,
        row: usize,
        to: V,
    ) -> Result<(), Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<F>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.cs.assign_fixed(annotation, column, row, to)
    }

    fn copy(
        &mut self,
        left_column: Column<AnyColumn>,
        left_row: usize,
        right_column: Column<AnyColumn>,
        right_row: usize,
    ) -> Result<(), Error> {
        with_state(|s| {
            for (instance, advice) in [
                ((left_column, left_row), (right_column, right_row)),
                ((right_column, right_row), (left_column, left_row)),
            ] {
                if *instance.0.column_type() == AnyColumn::Instance {
                    if let Some(v) = s.advice.get(&advice).copied() {
                        s.exposed.entry(instance.1).or_default().push(v);
                    }
                }
            }
        });
        self.cs.copy(left_column, left_row, right_column, right_row)
    }

    fn fill_from_row(
        &mut self,
        column: Column<Fixed>,
        row: usize,
        to: Value<Assigned<F>>,
    ) -> Result<(), Error> {
        self.cs.fill_from_row(column, row, to)
    }

    fn push_namespace<NR, N>(&mut self, name_fn: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        let name: String = name_fn().into();
        with_state(|s| s.namespaces.push(name.clone()));
        self.cs.push_namespace(|| name);
    }

    fn pop_namespace(&mut self, gadget_name: Option<String>) {
        with_state(|s| s.namespaces.pop());
        self.cs.pop_namespace(gadget_name);
    }
}

/// Uninstalls the state when a run ends, even by a panic.
struct Active;

impl Active {
    fn install(tampers: &[Tamper]) -> Self {
        STATE.with(|s| {
            *s.borrow_mut() = Some(State {
                tampers: tampers.iter().map(|t| (t.clone(), 0)).collect(),
                ..State::default()
            })
        });
        Active
    }

    fn take(self) -> State {
        STATE
            .with(|s| s.borrow_mut().take())
            .expect("the state is installed")
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        STATE.with(|s| s.borrow_mut().take());
    }
}

/// A simplified verification failure, located by its region's full path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// `ConstraintNotSatisfied`: gate name, constraint name, where.
    Constraint {
        gate: String,
        constraint: String,
        at: String,
    },
    /// A lookup input not in its table.
    Lookup { at: String },
    /// A copy constraint broken at a cell (its region path, offset and column).
    Permutation { at: String },
    /// Anything else (unassigned cells …), as displayed.
    Other(String),
}

/// What a test expects to fail: a [`Failure`] kind with names, under a scope.
#[derive(Clone, Debug)]
pub(crate) enum Expect {
    /// A named constraint of a named gate, in a region under the scope.
    Constraint(&'static str, &'static str, String),
    /// A lookup in a region under the scope.
    Lookup(String),
    /// A copy constraint at a cell in a region whose path contains the scope.
    Permutation(String),
}

impl Expect {
    /// Constraint `constraint` of gate `gate`, under `scope`.
    pub(crate) fn constraint(
        gate: &'static str,
        constraint: &'static str,
        scope: impl Into<String>,
    ) -> Self {
        Expect::Constraint(gate, constraint, scope.into())
    }

    fn matches(&self, f: &Failure) -> bool {
        match (self, f) {
            (
                Expect::Constraint(g, c, scope),
                Failure::Constraint {
                    gate,
                    constraint,
                    at,
                },
            ) => gate == g && constraint == c && at.contains(scope.as_str()),
            (Expect::Lookup(scope), Failure::Lookup { at })
            | (Expect::Permutation(scope), Failure::Permutation { at }) => {
                at.contains(scope.as_str())
            }
            _ => false,
        }
    }
}

/// The result of a tampered run.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The public inputs the tampered witness binds.
    pub(crate) instance: Vec<pallas::Base>,
    /// `MockProver::verify`'s failures (empty if satisfied).
    pub(crate) failures: Vec<VerifyFailure>,
    regions: Vec<String>,
}

/// `(gate name, constraint name)` of a `ConstraintNotSatisfied`'s constraint, from its
/// display `Constraint i ('name') in gate j ('gate')` (the fields are private).
fn names(constraint: &impl fmt::Display) -> (String, String) {
    let s = constraint.to_string();
    let quoted = |s: &str| {
        s.split_once(" ('")
            .and_then(|(_, n)| n.strip_suffix("')"))
            .unwrap_or_default()
            .to_owned()
    };
    let (head, gate) = s.rsplit_once(" in gate ").expect("a constraint's display");
    (quoted(gate), quoted(head))
}

impl Outcome {
    fn at(&self, location: &FailureLocation) -> String {
        match location {
            FailureLocation::InRegion { region, offset } => {
                // `Region i ('name')`
                let index: usize = region
                    .to_string()
                    .strip_prefix("Region ")
                    .and_then(|s| s.split_once(' '))
                    .and_then(|(i, _)| i.parse().ok())
                    .expect("a region's display");
                format!("{} @{offset}", self.regions[index])
            }
            FailureLocation::OutsideRegion { row } => format!("outside regions, row {row}"),
        }
    }

    /// The failures, simplified.
    pub(crate) fn simplified(&self) -> Vec<Failure> {
        self.failures
            .iter()
            .map(|f| match f {
                VerifyFailure::ConstraintNotSatisfied {
                    constraint,
                    location,
                    ..
                } => {
                    let (gate, constraint) = names(constraint);
                    Failure::Constraint {
                        gate,
                        constraint,
                        at: self.at(location),
                    }
                }
                VerifyFailure::Lookup { location, .. } => Failure::Lookup {
                    at: self.at(location),
                },
                VerifyFailure::Permutation { column, location } => Failure::Permutation {
                    at: format!("{} in {column}", self.at(location)),
                },
                other => Failure::Other(other.to_string()),
            })
            .collect()
    }

    /// Asserts that the circuit is satisfied.
    pub(crate) fn assert_satisfied(&self) {
        assert!(
            self.failures.is_empty(),
            "expected no failure, got {:#?}",
            self.simplified()
        );
    }

    /// Asserts that every expected failure occurs, and that nothing else fails.
    /// `SABLE_TAMPER_DEBUG=1` prints the failures of each outcome checked.
    pub(crate) fn assert_fails_with(&self, expected: &[Expect]) {
        let failures = self.simplified();
        if std::env::var("SABLE_TAMPER_DEBUG").is_ok_and(|v| v == "1") {
            eprintln!("failures: {failures:#?}");
        }
        for e in expected {
            assert!(
                failures.iter().any(|f| e.matches(f)),
                "expected {e:?} among the failures, got {failures:#?}"
            );
        }
        for f in &failures {
            assert!(
                expected.iter().any(|e| e.matches(f)),
                "unexpected failure {f:?}; expected only {expected:#?}"
            );
        }
    }
}

/// Lays out `circuit` with `tampers` active, takes the public inputs its witness binds
/// (`public` rows of the instance column, each bound by at least one copy and all
/// copies agreeing), and verifies it against them. Every tamper must apply at least
/// once.
pub(crate) fn run<C: Circuit<pallas::Base>>(
    circuit: &C,
    public: usize,
    tampers: &[Tamper],
) -> Outcome {
    run_k(K, circuit, public, tampers)
}

/// [`run`] for a circuit of `2^k` rows.
pub(crate) fn run_k<C: Circuit<pallas::Base>>(
    k: u32,
    circuit: &C,
    public: usize,
    tampers: &[Tamper],
) -> Outcome {
    let active = Active::install(tampers);
    MockProver::run(k, circuit, vec![vec![pallas::Base::zero(); public]])
        .unwrap_or_else(|e| panic!("synthesis failed: {e:?}"));
    let state = active.take();
    for (t, hits) in &state.tampers {
        assert!(*hits > 0, "tamper {t:?} never applied");
    }
    let instance: Vec<_> = (0..public)
        .map(|row| match state.exposed.get(&row).map(Vec::as_slice) {
            Some([v, rest @ ..]) => {
                assert!(
                    rest.iter().all(|r| r == v),
                    "public input {row} is bound to different values: {:?}",
                    state.exposed[&row]
                );
                *v
            }
            _ => panic!("public input {row} is not bound by the circuit"),
        })
        .collect();
    let active = Active::install(tampers);
    let failures = MockProver::run(k, circuit, vec![instance.clone()])
        .unwrap_or_else(|e| panic!("synthesis failed: {e:?}"))
        .verify()
        .err()
        .unwrap_or_default();
    let regions = active.take().regions;
    Outcome {
        instance,
        failures,
        regions,
    }
}
