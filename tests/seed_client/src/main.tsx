// Not part of the seed write-up: the entry point it leaves to Vite's template, reduced to mounting <App/>.
import { createRoot } from 'react-dom/client';
import App from './App';

createRoot(document.getElementById('root')!).render(<App />);
