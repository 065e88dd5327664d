//! The browser entry point: hydrates the server-rendered page.

// The page's view types nest deeply; debug builds without erased
// components need more than the default 128.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // `hydrate_lazy`, not `hydrate_body`: a page opened at a detail address
    // hydrates a lazy route, whose code has to be fetched first.
    leptos::mount::hydrate_lazy(app::App);
}
