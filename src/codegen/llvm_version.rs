//! Everything that differs between the LLVM versions toy builds against (the cargo
//! features `llvm14`, `llvm15`, `llvm16`): from 15 on, pointers are opaque, so a load
//! names the type it loads and a call through a pointer names the function's type.
//! The rest of codegen calls these and stays version-free.

use inkwell::AddressSpace;
use inkwell::builder::{Builder, BuilderError};
use inkwell::context::Context;
use inkwell::types::{BasicType, FunctionType, PointerType};
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, CallSiteValue, PointerValue};

use super::CodegenError;

#[cfg(not(any(feature = "llvm14", feature = "llvm15", feature = "llvm16")))]
compile_error!("pick the LLVM toy builds against: one of the features llvm14, llvm15, llvm16");

#[cfg(any(
    all(feature = "llvm14", feature = "llvm15"),
    all(feature = "llvm14", feature = "llvm16"),
    all(feature = "llvm15", feature = "llvm16"),
))]
compile_error!(
    "features llvm14, llvm15 and llvm16 exclude each other (with another one, add --no-default-features)"
);

/// The exact version of the LLVM this build links (`15.0.6`), as the `llvm-config`
/// llvm-sys linked it with reported it (build.rs); part of the code cache's key.
pub const VERSION: &str = env!("TOY_LLVM_VERSION");

/// Loads a value of type `ty` from `pointer`.
pub(crate) fn load<'ctx>(
    builder: &Builder<'ctx>,
    ty: impl BasicType<'ctx>,
    pointer: PointerValue<'ctx>,
    name: &str,
) -> Result<BasicValueEnum<'ctx>, BuilderError> {
    #[cfg(feature = "llvm14")]
    {
        // Typed pointers: the pointer knows what it points to.
        let _ = ty;
        builder.build_load(pointer, name)
    }
    #[cfg(not(feature = "llvm14"))]
    {
        builder.build_load(ty, pointer, name)
    }
}

/// The type of a pointer to a function of type `function`.
pub(crate) fn function_pointer<'ctx>(
    context: &'ctx Context,
    function: FunctionType<'ctx>,
) -> PointerType<'ctx> {
    #[cfg(feature = "llvm14")]
    {
        let _ = context;
        function.ptr_type(AddressSpace::default())
    }
    #[cfg(not(feature = "llvm14"))]
    {
        // Opaque pointers: one pointer type for everything.
        let _ = function;
        context.ptr_type(AddressSpace::default())
    }
}

/// Calls the function of type `function` that `pointer` points to; `global` names
/// where the pointer came from, for the error.
pub(crate) fn call_pointer<'ctx>(
    builder: &Builder<'ctx>,
    function: FunctionType<'ctx>,
    pointer: PointerValue<'ctx>,
    args: &[BasicMetadataValueEnum<'ctx>],
    name: &str,
    global: &str,
) -> Result<CallSiteValue<'ctx>, CodegenError> {
    #[cfg(feature = "llvm14")]
    {
        let _ = function;
        let callable = inkwell::values::CallableValue::try_from(pointer).map_err(|()| {
            CodegenError::NotCallable {
                pointer: global.to_owned(),
            }
        })?;
        Ok(builder.build_call(callable, args, name)?)
    }
    #[cfg(not(feature = "llvm14"))]
    {
        // The type comes from the caller, so nothing here can fail to be callable.
        let _ = global;
        Ok(builder.build_indirect_call(function, pointer, args, name)?)
    }
}
