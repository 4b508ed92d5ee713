import './style.css';

import { App } from './app.js';

void new App(document.getElementById('app')!).start();
