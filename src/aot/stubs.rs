//! The indirect stubs of an executable, generated in LLVM IR (names like `binary|` are
//! no C names): for each Kaleidoscope function name, a function of that name that
//! calls through a pointer the generated C `main` sets, and reports the function as
//! unknown while the pointer is null.

use inkwell::context::Context;
use inkwell::module::Linkage;
use inkwell::targets::FileType;

use crate::codegen::{self, CodegenError, Compiler, llvm_version};

/// An object of *indirect stubs*, for ahead-of-time programs: for each
/// `(name, arity, pointer, missing)`, a function `name` that calls through the
/// external global `pointer` (a `double (*)(double, ...)`), or calls the external
/// `void missing(void)` while the pointer is null.
pub(super) fn object(
    compiler: &Compiler,
    stubs: &[(String, usize, String, String)],
) -> Result<Vec<u8>, CodegenError> {
    let machine = compiler.machine();
    let context = Context::create();
    let module = machine.module(&context, "stubs");
    let builder = context.create_builder();
    let f64t = context.f64_type();
    let void = context.void_type();
    for (name, arity, pointer, missing) in stubs {
        let params = vec![f64t.into(); *arity];
        let fn_type = f64t.fn_type(&params, false);
        let ptr_type = llvm_version::function_pointer(&context, fn_type);
        let global = module.add_global(ptr_type, None, pointer);
        global.set_linkage(Linkage::External);
        let missing = module.add_function(missing, void.fn_type(&[], false), None);
        let function = module.add_function(name, fn_type, None);
        let entry = context.append_basic_block(function, "entry");
        let absent = context.append_basic_block(function, "absent");
        let present = context.append_basic_block(function, "present");
        builder.position_at_end(entry);
        let target = llvm_version::load(&builder, ptr_type, global.as_pointer_value(), "target")?
            .into_pointer_value();
        let is_null = builder.build_is_null(target, "null")?;
        builder.build_conditional_branch(is_null, absent, present)?;
        builder.position_at_end(absent);
        builder.build_call(missing, &[], "")?;
        builder.build_unreachable()?;
        builder.position_at_end(present);
        let args: Vec<_> = function.get_param_iter().map(|p| p.into()).collect();
        let result =
            llvm_version::call_pointer(&builder, fn_type, target, &args, "result", pointer)?;
        let value =
            result
                .try_as_basic_value()
                .basic()
                .ok_or_else(|| CodegenError::CallWithoutValue {
                    callee: pointer.clone(),
                })?;
        builder.build_return(Some(&value))?;
    }
    codegen::verify(&module)?;
    machine.write(&module, FileType::Object)
}
