// Loads the WebAssembly app; a file of its own so the page's CSP allows no inline script.
import init from '/pkg/cirhub_frontend.js';
init();
