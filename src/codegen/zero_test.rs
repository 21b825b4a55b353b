//! Exact integer tests for "is this double zero": after the optimization pipeline,
//! `fcmp oeq x, 0.0` becomes `(bits(x) & 0x7fff…) == 0` and `fcmp une x, 0.0` its
//! negation. Both forms are true for `+0.0` and `-0.0` alone (a NaN has exponent
//! bits, so it equals nothing), so no result changes. Why: Kaleidoscope's `<` is
//! unordered (`ult`: NaN is less than everything), so an equality written with it,
//! `!(a < b) * !(b < a)`, folds to an *ordered* comparison, which x86 can only branch
//! on with two jumps (`jne` then `jp`); the integer test is one. C's `==` written with
//! C's ordered `<` folds to `ueq`, one jump: without this, a Kaleidoscope program
//! testing for zero in a hot loop runs about a fifth slower than its C twin.

use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::Module;
use inkwell::values::{BasicValueEnum, FloatValue, InstructionOpcode, InstructionValue};
use inkwell::{FloatPredicate, IntPredicate};

use super::CodegenError;

/// Every bit of a double but its sign.
const MAGNITUDE: u64 = 0x7fff_ffff_ffff_ffff;

/// Rewrites every `fcmp oeq`/`fcmp une` of a double against a constant zero in
/// `module` as an integer test of the other operand's bits.
pub(super) fn lower_zero_tests(context: &Context, module: &Module<'_>) -> Result<(), CodegenError> {
    let builder = context.create_builder();
    let mut function = module.get_first_function();
    while let Some(f) = function {
        for block in f.get_basic_blocks() {
            let mut next = block.get_first_instruction();
            while let Some(instruction) = next {
                next = instruction.get_next_instruction();
                if let Some((x, equal)) = zero_test(instruction) {
                    rewrite(context, &builder, instruction, x, equal)?;
                }
            }
        }
        function = f.get_next_function();
    }
    Ok(())
}

/// The tested operand of `instruction` and whether it asks "equal" (`oeq`) rather
/// than "not equal" (`une`), if it is such a test against `+0.0` or `-0.0`.
fn zero_test(instruction: InstructionValue<'_>) -> Option<(FloatValue<'_>, bool)> {
    if instruction.get_opcode() != InstructionOpcode::FCmp {
        return None;
    }
    let equal = match instruction.get_fcmp_predicate()? {
        FloatPredicate::OEQ => true,
        FloatPredicate::UNE => false,
        _ => return None,
    };
    let operand = |i| match instruction.get_operand(i)?.value()? {
        BasicValueEnum::FloatValue(v) if v.get_type().get_bit_width() == 64 => Some(v),
        _ => None,
    };
    let (a, b) = (operand(0)?, operand(1)?);
    let zero = |v: FloatValue<'_>| v.get_constant().is_some_and(|(c, _)| c == 0.0);
    // Two constants are left to LLVM's folding.
    match (zero(a), zero(b)) {
        (false, true) if !a.is_const() => Some((a, equal)),
        (true, false) if !b.is_const() => Some((b, equal)),
        _ => None,
    }
}

/// Replaces the comparison `instruction` by `(bits(x) & MAGNITUDE) ==/!= 0`.
fn rewrite<'ctx>(
    context: &'ctx Context,
    builder: &Builder<'ctx>,
    instruction: InstructionValue<'ctx>,
    x: FloatValue<'ctx>,
    equal: bool,
) -> Result<(), CodegenError> {
    let i64 = context.i64_type();
    builder.position_before(&instruction);
    let bits = builder.build_bit_cast(x, i64, "bits")?.into_int_value();
    let magnitude = builder.build_and(bits, i64.const_int(MAGNITUDE, false), "magnitude")?;
    let predicate = if equal {
        IntPredicate::EQ
    } else {
        IntPredicate::NE
    };
    let test = builder.build_int_compare(predicate, magnitude, i64.const_zero(), "zero")?;
    // Of a non-constant, the builder folds nothing: `test` is an instruction.
    if let Some(test) = test.as_instruction() {
        instruction.replace_all_uses_with(&test);
        instruction.erase_from_basic_block();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::codegen::{Compiler, OptLevel, Output, Request};
    use crate::frontend::ast::{Function, Item};
    use crate::session::Session;

    /// The IR of `program`'s last function at `opt`, every other function inlinable.
    fn ir(program: &str, opt: OptLevel) -> String {
        let functions: Vec<Function> = Session::resolve_program(program)
            .expect("a valid program")
            .into_iter()
            .filter_map(|item| match item {
                Item::Def(f) => Some((*f).clone()),
                _ => None,
            })
            .collect();
        let (last, callees) = functions.split_last().expect("a def");
        let callees: Vec<&Function> = callees.iter().collect();
        let request = Request::function(last, None)
            .inlining(&callees)
            .output(Output::Ir);
        let compiler = Compiler::host(opt).expect("compiler");
        String::from_utf8(compiler.emit(request).expect("compiles")).expect("UTF-8")
    }

    const EQ: &str = "def unary!(v) if v then 0 else 1;
                      def binary ~ 9 (a b) !(a < b) * !(b < a);";

    #[test]
    fn an_ordered_test_for_zero_becomes_a_test_of_the_magnitude_bits() {
        let ir = ir(
            &format!("{EQ} def f(x) if x ~ 0 then 5 else 7;"),
            OptLevel::O2,
        );
        assert!(!ir.contains("fcmp"), "{ir}");
        assert!(ir.contains("and i64 %bits, 9223372036854775807"), "{ir}");
        assert!(
            ir.contains("icmp eq i64 %magnitude, 0") || ir.contains("icmp ne i64 %magnitude, 0"),
            "{ir}"
        );
    }

    #[test]
    fn other_comparisons_and_unoptimized_code_keep_their_fcmp() {
        let others = ir(
            &format!("{EQ} def f(x y) if x ~ y then 5 else 7;"),
            OptLevel::O2,
        );
        assert!(
            others.contains("fcmp oeq double %x, %y") || others.contains("fcmp une double %x, %y"),
            "{others}"
        );
        let one = ir("def f(x) if x then 5 else 7;", OptLevel::O2);
        assert!(one.contains("fcmp one double %x, 0.0"), "{one}");
        for opt in [OptLevel::Tutorial, OptLevel::O0, OptLevel::Baseline] {
            let ir = ir(&format!("{EQ} def f(x) if x ~ 0 then 5 else 7;"), opt);
            assert!(!ir.contains("%magnitude"), "{opt:?}: {ir}");
        }
    }
}
